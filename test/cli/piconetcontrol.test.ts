// Acceptance: a piconetcontrol v0.3 client's batch, byte for byte as its Client.send_commands
// writes it (json.dumps(cmd) + "\n", an extra "\n" after the last, time_sent in ns), gets
// correct replies from `tether device --sim` running as its own process.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { startDevice, type Device } from './run-cli.js';
import { assertLease } from '../support/lease.js';

let device: Device | undefined;
before(async () => {
  device = await startDevice();
});
after(async () => {
  device?.child.kill('SIGTERM');
  await device?.exited;
});

/** Python's json.dumps with its default separators (", " and ": "). */
function pyDumps(cmd: Record<string, unknown>): string {
  return `{${Object.entries(cmd).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(', ')}}`;
}

test('the piconetcontrol batch gets one correct reply per command, then the client closes', { timeout: 30_000 }, async () => {
  assert.ok(device);
  const t0 = 1732190000000000000;
  const batch: Array<Record<string, unknown>> = [
    { action: 'setup_pin', pin: 2, mode: 'output', value: 0 },
    { action: 'write_pin', pin: 2, value: 1, timeout: 5 },
    { action: 'read_pin', pin: 2 },
    { action: 'get_version' },
    { action: 'list_actions' },
    { action: 'get_info' },
    { action: 'ping' },
  ].map((cmd, i) => ({ ...cmd, time_sent: t0 + i * 1000 }));
  const bytes = batch.map((cmd) => pyDumps(cmd) + '\n').join('') + '\n';
  assert.ok(bytes.startsWith('{"action": "setup_pin", "pin": 2, "mode": "output", "value": 0, "time_sent": 1732190000000000000}\n'));
  assert.ok(bytes.endsWith('}\n\n'));

  const replies = await new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: device?.port ?? 0 }, () => socket.write(bytes));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      const lines = text.split('\n').filter((l) => l !== '');
      if (lines.length === batch.length && text.endsWith('\n')) {
        socket.end();
        resolve(lines.map((l) => JSON.parse(l) as Record<string, unknown>));
      }
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error(`only got: ${text}`)), 10_000).unref();
  });

  assert.equal(replies.length, batch.length);
  replies.forEach((reply, i) => {
    const sent = batch[i] as Record<string, unknown>;
    assert.equal(reply['ok'], true, JSON.stringify(reply));
    for (const [key, value] of Object.entries(sent)) assert.deepEqual(reply[key], value, `reply ${i} echoes ${key}`);
  });
  assertLease(replies[1]?.['lease'], { value: 1, safe_value: 0, expires_in_s: 5 });
  assert.equal(replies[2]?.['value'], 1);
  assert.equal(replies[3]?.['version'], '0.1.0');
  assert.ok((replies[4]?.['actions'] as string[]).includes('write_pin'));
  const info = replies[5]?.['info'] as Record<string, unknown>;
  for (const key of ['mem_free', 'mem_alloc', 'board']) assert.ok(key in info, `info has ${key}`);
});
