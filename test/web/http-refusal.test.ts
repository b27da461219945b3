// Any page a browser on the LAN opens can POST to a board's port: `mode: 'no-cors'` with a
// text/plain body needs no CORS preflight, and the browser sends it whatever the board is. Here a
// real Chromium (through playwright-core) on a page from a loopback origin does exactly that; the
// board must close the connection with none of the body's JSON lines run (protocol.md §2 rule 7).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { ManualClock } from '../../src/common/clock.js';
import { parseBoardConfig } from '../../src/device/config.js';
import type { Logger } from '../../src/device/logger.js';
import { startDevice, type RunningDevice } from '../../src/device/runtime.js';
import { createSimHardware, type SimHardware } from '../../src/device/sim/sim-hardware.js';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from '../support/browser.js';

const BODY = '{"action":"setup_pin","pin":2,"mode":"output","value":0}\n{"action":"write_pin","pin":2,"value":1,"timeout":5}\n';

describe('security: a web page against a board', { skip: SKIP_WITHOUT_CHROMIUM, timeout: 90_000 }, () => {
  let browser: Browser;
  let device: RunningDevice;
  let hardware: SimHardware;
  let page: http.Server;
  let pageUrl: string;
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };

  before(async () => {
    const config = parseBoardConfig({ name: 'lan-board', auth: 'none', pins: [{ pin: 6, mode: 'input' }] });
    const clock = new ManualClock();
    hardware = createSimHardware(config, clock);
    device = await startDevice({ config, hardware, clock, logger, host: '127.0.0.1', port: 0 });
    // The attacking page comes from its own loopback origin, as a page from anywhere would.
    page = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>any page</title>'));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
    await new Promise((resolve) => page.close(resolve));
    await device.close();
  });

  test('security: a no-cors text/plain fetch from a page cannot set up or switch a pin', async () => {
    const tab = await browser.newPage();
    try {
      await tab.goto(pageUrl);
      const outcome = await tab.evaluate(
        async ({ url, body }) => {
          try {
            const res = await fetch(url, { mode: 'no-cors', method: 'POST', body });
            return `answered (${res.type})`;
          } catch (err) {
            return `failed: ${String(err)}`;
          }
        },
        { url: `http://127.0.0.1:${device.port}/`, body: BODY },
      );
      assert.match(outcome, /^failed: /, 'the board gave the browser no HTTP response');
      // The refusal's log line says the board has handled the connection; without the guard it never comes.
      const deadline = Date.now() + 10_000;
      while (!warnings.some((w) => w.includes('HTTP')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(hardware.gpio.mode(2), 'unused', 'pin 2 was never set up');
      assert.equal(hardware.gpio.level(2), 0);
      assert.equal(warnings.length, 1, `one log line for the refused connection: ${JSON.stringify(warnings)}`);
      assert.match(warnings[0] ?? '', /"POST \/ HTTP\/1\.1"/);
    } finally {
      await tab.close();
    }
  });
});
