// A board's port is reachable from any web page a browser on the LAN opens: a `text/plain` POST
// needs no CORS preflight. The device runtime closes a connection that speaks HTTP before any
// of its lines run (protocol.md §2 rule 7); raw TCP here, a real browser in test/web.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { parseBoardConfig } from '../../src/device/config.js';
import type { Logger } from '../../src/device/logger.js';
import { startDevice, type RunningDevice } from '../../src/device/runtime.js';
import { createSimHardware, type SimHardware } from '../../src/device/sim/sim-hardware.js';
import { assertClosedUnanswered } from '../support/closed-unanswered.js';
import { LineClient } from '../support/line-client.js';

const BODY = '{"action":"setup_pin","pin":2,"mode":"output","value":0}\n{"action":"write_pin","pin":2,"value":1,"timeout":5}\n';

function post(headers: string[]): string {
  return ['POST / HTTP/1.1', ...headers, `Content-Length: ${Buffer.byteLength(BODY)}`, '', BODY].join('\r\n');
}

describe('security: HTTP on a board port', { timeout: 60_000 }, () => {
  let device: RunningDevice;
  let hardware: SimHardware;
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };

  before(async () => {
    const config = parseBoardConfig({ name: 'http-target', auth: 'none', pins: [{ pin: 6, mode: 'input' }] });
    const clock = new ManualClock();
    hardware = createSimHardware(config, clock);
    device = await startDevice({ config, hardware, clock, logger, host: '127.0.0.1', port: 0 });
  });
  after(() => device.close());

  test('security: a browser-style POST is closed and the JSON lines of its body never run', async () => {
    warnings.length = 0;
    await assertClosedUnanswered(device.port, post(['Host: 127.0.0.1', 'Content-Type: text/plain;charset=UTF-8', 'Origin: http://evil.example']));
    assert.equal(hardware.gpio.mode(2), 'unused', 'pin 2 was never set up');
    assert.equal(hardware.gpio.level(2), 0);
    assert.equal(warnings.length, 1, `one log line per refused connection: ${JSON.stringify(warnings)}`);
    assert.match(warnings[0] ?? '', /127\.0\.0\.1:\d+.*HTTP.*"POST \/ HTTP\/1\.1"/);
  });

  test('security: the request line split over many writes is still refused', async () => {
    const client = await LineClient.connect(device.port);
    try {
      for (const piece of post(['Host: x']).match(/[^]{1,7}/g) ?? []) await client.write(piece).catch(() => undefined);
      await client.waitClosed(5000);
    } finally {
      client.close();
    }
    assert.equal(hardware.gpio.mode(2), 'unused');
  });

  test('security: a connection that opens with a header line is closed too', async () => {
    warnings.length = 0;
    await assertClosedUnanswered(device.port, `Content-Type: text/plain\r\nHost: x\r\n\r\n${BODY}`);
    assert.equal(hardware.gpio.mode(2), 'unused');
    assert.equal(warnings.length, 1);
  });

  test('security: any method and HTTP version is refused (GET, OPTIONS *, HTTP/1.0)', async () => {
    for (const line of ['GET /x HTTP/1.0', 'OPTIONS * HTTP/1.1', 'PUT /api?a=b HTTP/2']) {
      await assertClosedUnanswered(device.port, `${line}\r\n${BODY}`);
    }
    assert.equal(hardware.gpio.mode(2), 'unused');
  });

  test('security: after a bad line, a header line still closes the connection before anything runs', async () => {
    const client = await LineClient.connect(device.port);
    try {
      await client.write('hello\n');
      assert.equal((await client.next()).ok, false, 'a line that is not JSON gets its bad_json reply');
      await client.write(`Host: x\r\n\r\n${BODY}`);
      await client.waitClosed(5000);
    } finally {
      client.close();
    }
    assert.equal(hardware.gpio.mode(2), 'unused');
  });

  test('security: JSON traffic with CRLF, blank lines and piconetcontrol batches still works', async () => {
    warnings.length = 0;
    const client = await LineClient.connect(device.port);
    try {
      await client.write('\r\n  \n{"action":"ping","id":1}\r\n');
      assert.equal((await client.next()).id, 1);
      // Once a request was accepted, an HTTP-looking line is only a line that is not JSON.
      await client.write('Host: x\n{"action":"setup_pin","pin":3,"mode":"output","value":0,"time_sent":1}\n\n');
      assert.equal(((await client.next()).error as { code: string }).code, 'bad_json');
      assert.equal((await client.next()).ok, true);
      assert.equal(client.closed, false);
    } finally {
      client.close();
    }
    assert.equal(hardware.gpio.mode(3), 'output');
    assert.deepEqual(warnings, []);
  });
});
