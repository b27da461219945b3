// The firmware started the way a board starts it: main.py → app.main() → tether/start.py reading
// config/device.json and config/wifi.json, joining the (simulated) WiFi, probing the sensors and
// listening; and the console line that says why when it cannot start. Under CPython on the shims
// (firmware/tests/host/run_main.py).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { connect } from '../../src/client/index.js';
import { FIRMWARE_DIR, SKIP_WITHOUT_PYTHON3 } from '../support/micropython.js';
import { freePort } from '../support/free-port.js';

const RUN_MAIN = join(FIRMWARE_DIR, 'tests', 'host', 'run_main.py');
const skip = SKIP_WITHOUT_PYTHON3;

interface Booted {
  child: ChildProcess;
  /** Resolves with the first stdout line that matches, rejects with all output on exit. */
  line(pattern: RegExp): Promise<string>;
}

/** A board's flash with a copy of the firmware (main.py, tether/) whose tether/app.py is `app`. */
function flashWithApp(app: string, roots: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'tether-main-'));
  roots.push(root);
  cpSync(join(FIRMWARE_DIR, 'main.py'), join(root, 'main.py'));
  cpSync(join(FIRMWARE_DIR, 'tether'), join(root, 'tether'), { recursive: true });
  writeFileSync(join(root, 'tether', 'app.py'), app);
  return root;
}

function boot(files: Record<string, unknown>, roots: string[], root = mkdtempSync(join(tmpdir(), 'tether-main-'))): Booted {
  if (!roots.includes(root)) roots.push(root);
  mkdirSync(join(root, 'config'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(root, 'config', name), JSON.stringify(content));
  const child = spawn('python3', [RUN_MAIN, root], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const lines: string[] = [];
  const waiting: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    lines.push(line);
    output += `${line}\n`;
    for (const w of [...waiting]) {
      if (w.pattern.test(line)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`the firmware exited (${String(code)}):\n${output}`))));
  exited.catch(() => undefined);
  return {
    child,
    line: (pattern) => {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return Promise.race([new Promise<string>((resolve) => waiting.push({ pattern, resolve })), exited]);
    },
  };
}

describe('firmware main.py start-up', { skip, timeout: 30_000 }, () => {
  const roots: string[] = [];
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  test('joins the WiFi from config/wifi.json, probes the sensors and listens on the configured port', async () => {
    const port = await freePort();
    const board = boot(
      {
        'device.json': {
          name: 'porch',
          auth: 'none',
          listen: { host: '127.0.0.1', port },
          i2c: [{ bus: 0, sda: 4, scl: 5 }],
          pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }],
          sensors: [{ name: 'air', driver: 'aht10' }],
        },
        'wifi.json': { ssid: 'tether-lab', password: 'tether-pass', hostname: 'porch' },
      },
      roots,
    );
    children.push(board.child);
    await board.line(new RegExp(`^tether \\S+: porch listening on port ${port}$`));
    // auth: none is a choice the console reminds of at every start.
    assert.match(await board.line(/"auth": "none"/), /^tether: warning: .*any client on the network may drive this board/);
    const client = await connect({ host: '127.0.0.1', port });
    try {
      const info = await client.getInfo();
      assert.equal(info['name'], 'porch');
      assert.equal(info['wifi_connected'], true, JSON.stringify(info));
      assert.equal(info['ip'], '192.168.4.23');
      const reading = await client.request({ action: 'read_sensor', name: 'air' });
      assert.equal(reading['ok'], true, JSON.stringify(reading));
      assert.equal(typeof (reading['values'] as Record<string, unknown>)['temperature'], 'number', JSON.stringify(reading));
    } finally {
      await client.close();
    }
  });

  test('a config with problems is named on the console, every problem with its path', async () => {
    const board = boot({ 'device.json': { pins: [{ pin: 99, mode: 'sideways' }], bogus: 1 } }, roots);
    children.push(board.child);
    assert.equal(await board.line(/^tether: /), 'tether: config/device.json: the board config is not valid:');
    // Without tokens or auth: none the board does not start: who may drive it must be said.
    for (const part of [/^ {2}- bogus: unknown key$/, /^ {2}- auth: missing; .*"auth": "none"/, /^ {2}- pins\[0\]\.mode: /, /^ {2}- pins: pin 99 does not exist/]) {
      assert.match(await board.line(part), part);
    }
  });

  test('a firmware that fails at import prints why, waits and resets (a failed boot for the update rollback)', async () => {
    const root = flashWithApp("import machine\nraise ImportError('no module named tether.missing')\n", roots);
    const board = boot({ 'device.json': { auth: 'none' } }, roots, root);
    children.push(board.child);
    const started = Date.now();
    const ended = await board.line(/^run_main: /);
    assert.equal(ended, "run_main: the board reset: [('reset',)]", 'not left at the REPL');
    await board.line(/^ImportError: no module named tether\.missing$/);
    assert.ok(Date.now() - started >= 4_500, 'waits 5 s first, so that the console can be read');
  });

  test('a sensor that does not answer at start leaves the board serving, the sensor reported as down', async () => {
    const port = await freePort();
    const board = boot(
      {
        'device.json': {
          auth: 'none',
          listen: { host: '127.0.0.1', port },
          i2c: [{ bus: 0, sda: 4, scl: 5 }],
          pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }],
          sensors: [{ name: 'air', driver: 'aht10' }],
          sim: { absent: [{ bus: 0, address: '0x38' }] },
        },
      },
      roots,
    );
    children.push(board.child);
    const down = 'air: did not start: aht10: no device answers at 0x38 on I2C bus 0 - check the wiring and the pull-ups; the board tries again';
    assert.ok((await board.line(/^tether: air: did not start/)).startsWith(`tether: ${down}`));
    await board.line(new RegExp(`listening on port ${port}$`));
    const client = await connect({ host: '127.0.0.1', port });
    try {
      const sensors = await client.request({ action: 'list_sensors' });
      const air = (sensors['sensors'] as Array<Record<string, unknown>>)[0];
      assert.equal((air?.['fault'] as Record<string, unknown>)['code'], 'sensor_error', JSON.stringify(sensors));
      await assert.rejects(client.request({ action: 'read_sensor', name: 'air' }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'sensor_error');
        assert.match(err.message, /air: did not start: aht10: no device answers at 0x38/);
        return true;
      });
      const wrote = await client.request({ action: 'write_pin', pin: 15, value: 0 });
      assert.equal(wrote['ok'], true, 'everything else works');
    } finally {
      await client.close();
    }
  });
});
