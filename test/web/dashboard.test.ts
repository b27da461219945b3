// The web dashboard in a real browser (Debian's Chromium through playwright-core) against the
// demo: `tether demo` itself for the sign-in link, and the same demo started in-process
// (startDemo) where a test needs to stop one of its boards.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { startDemo, type Demo } from '../../src/cli/demo-command.js';
import type { MqttStatus } from '../../src/hub/types.js';
import { silentLogger } from '../../src/device/logger.js';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from '../support/browser.js';
import { spawnHubCli } from '../support/hub-process.js';
import { withLastChanged } from '../support/near-miss-token.js';
import { eventually, sqliteStoreOf } from '../support/test-hub.js';

const BOARDS = ['greenhouse', 'porch', 'shed'];

async function attributes(locator: Locator, name: string): Promise<string[]> {
  return Promise.all((await locator.all()).map(async (l) => (await l.getAttribute(name)) ?? ''));
}

function onlineBoards(page: Page): Promise<string[]> {
  return attributes(page.locator('tr[data-board][data-online="true"]'), 'data-board');
}

interface CountdownReading {
  /** Date.now() when read. */
  at: number;
  /** The seconds it showed. */
  left: number;
}

/**
 * Reads a lease countdown every 400 ms until it is gone, and returns the seconds it showed; fails
 * if it shows anything but "Back to … in N s" or the lease's end, or is still there at `deadline`.
 */
async function countdownUntilGone(page: Page, selector: string, deadline: number): Promise<CountdownReading[]> {
  const shown: CountdownReading[] = [];
  for (;;) {
    // Read in the page, in one go: the element may go at any moment, and a locator would wait for it.
    const text = await page.evaluate<string | null>(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? null`);
    if (text === null) return shown;
    const seconds = /^Back to off in (\d+(?:\.\d+)?) s$/.exec(text)?.[1];
    if (seconds !== undefined) shown.push({ at: Date.now(), left: Number(seconds) });
    else assert.match(text, /^Lease ended; waiting for the board to report$/);
    if (Date.now() > deadline) assert.fail(`the countdown still shows "${text}" long after the lease: ${JSON.stringify(shown)}`);
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

/**
 * Asserts readings of a countdown from a lease of `leaseS` seconds: at least two, within the
 * lease, each lower than the one before, and falling about as fast as the clock (loosely: the
 * machine may be slow and busy).
 */
function assertCountsDown(shown: CountdownReading[], leaseS: number): void {
  const all = JSON.stringify(shown);
  assert.ok(shown.length >= 2, `the countdown was read at least twice: ${all}`);
  assert.ok(shown.every((s) => s.left >= 0 && s.left <= leaseS), `between the lease and 0 s: ${all}`);
  shown.slice(1).forEach((later, i) => {
    const before = shown[i] ?? later;
    assert.ok(later.left < before.left, `the countdown went down between reads ${later.at - before.at} ms apart: ${all}`);
  });
  const first = shown[0] ?? assert.fail('a first reading');
  const last = shown.at(-1) ?? assert.fail('a last reading');
  const elapsed = (last.at - first.at) / 1000;
  const fell = first.left - last.left;
  assert.ok(fell >= elapsed * 0.5 - 0.3 && fell <= elapsed * 1.5 + 0.3, `${fell.toFixed(1)} s off the countdown in ${elapsed.toFixed(1)} s: ${all}`);
}

/** The number of points the chart shows, once it has some. */
function chartPoints(chart: Locator, timeoutMs: number): Promise<number> {
  return eventually(async () => {
    const n = Number((await chart.getAttribute('data-points')) ?? '');
    return n > 0 ? n : undefined;
  }, 'chart points', timeoutMs);
}

describe('web dashboard', { skip: SKIP_WITHOUT_CHROMIUM, timeout: 90_000 }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  }, { timeout: 60_000 });
  after(() => browser.close(), { timeout: 60_000 });

  test('tether demo: its link signs in, the token leaves the address bar, every board shows online; the hub gone shows reconnecting', { timeout: 60_000 }, async () => {
    const demo = await spawnHubCli(['demo', '--http-port', '0', '--link-port', '0']);
    const page = await browser.newPage();
    try {
      const link = /dashboard: (\S+)/.exec(demo.stdout())?.[1] ?? assert.fail(`the banner prints the dashboard link:\n${demo.stdout()}`);
      assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/#token=\S+$/);
      await page.goto(link);
      await page.locator('tr[data-board][data-online="true"]').nth(2).waitFor({ timeout: 15_000 });
      assert.deepEqual((await onlineBoards(page)).sort(), BOARDS);
      assert.ok(!page.url().includes('token'), `the token left the address bar: ${page.url()}`);
      await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();

      demo.child.kill('SIGINT');
      assert.equal(await demo.exited, 0);
      await page.locator('.link[data-status="reconnecting"]').waitFor({ timeout: 10_000 });
      assert.match(await page.locator('.banner[role="status"]').innerText(), /reconnecting/);
    } finally {
      await page.close();
      if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    }
  });

  describe('against the demo in this process', () => {
    let demo: Demo;
    let page: Page;
    let base: string;
    before(async () => {
      demo = await startDemo({ httpPort: 0, linkPort: 0, logger: silentLogger });
      base = `http://127.0.0.1:${demo.hub.http.port}/`;
      page = await browser.newPage();
    }, { timeout: 60_000 });
    after(async () => {
      await page.close();
      await demo.close();
    }, { timeout: 60_000 });

    test('a wrong token is refused with its code and what to do; the form then signs in', { timeout: 60_000 }, async () => {
      // As long as the real token and the same but for its last character.
      await page.goto(`${base}#token=${withLastChanged(demo.hub.apiToken.token)}`);
      const alert = page.getByRole('alert');
      await alert.or(page.locator('tr[data-board]')).first().waitFor({ timeout: 15_000 });
      assert.equal(await alert.count(), 1, 'a token one character off is refused, not signed in');
      assert.equal(await page.locator('tr[data-board]').count(), 0, 'no board is listed');
      const text = await alert.innerText();
      assert.match(text, /unauthenticated/);
      assert.match(text, /The hub did not accept this token\.\s+Check that you pasted the whole token, or open the sign-in link again: tether hub token show/);
      await page.getByLabel('API token').fill(demo.hub.apiToken.token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('tr[data-board][data-online="true"]').nth(2).waitFor({ timeout: 15_000 });
      assert.deepEqual((await onlineBoards(page)).sort(), BOARDS);
    });

    test('search and filter narrow the boards list', { timeout: 60_000 }, async () => {
      await page.goto(`${base}#token=${demo.hub.apiToken.token}`);
      await page.locator('tr[data-board][data-online="true"]').nth(2).waitFor({ timeout: 15_000 });
      await page.getByLabel('Search').fill('porch');
      await page.waitForFunction("document.querySelectorAll('tr[data-board]').length === 1");
      assert.equal(await page.locator('tr[data-board]').getAttribute('data-board'), 'porch');
      await page.getByLabel('Search').fill('');
      await page.getByLabel('Show').selectOption('offline');
      await page.getByText('No board matches').waitFor();
      await page.getByLabel('Show').selectOption('all');
      await page.locator('tr[data-board]').nth(2).waitFor();
    });

    test('an output switched with a 3 s lease shows on and counts down, then back at its safe value by itself; the log says so', { timeout: 60_000 }, async () => {
      await page.goto(`${base}#token=${demo.hub.apiToken.token}`);
      await page.getByRole('link', { name: 'greenhouse' }).click();
      await page.locator('[data-board-page="greenhouse"]').waitFor();
      const relay = page.locator('li[data-pin="15"]');
      const value = relay.locator('output.value');
      await value.filter({ hasText: 'off' }).waitFor({ timeout: 10_000 });
      await page.getByLabel('Lease for relay (pin 15), seconds').fill('3');
      const switched = Date.now();
      await relay.getByRole('button', { name: 'Turn on for 3 s' }).click();
      await value.filter({ hasText: 'on' }).waitFor({ timeout: 5000 });
      await relay.getByRole('timer').waitFor();
      // Nobody touches it again: the countdown ticks down until the board ends the lease.
      const shown = await countdownUntilGone(page, 'li[data-pin="15"] [role="timer"]', switched + 20_000);
      assertCountsDown(shown, 3);
      // The end: the timer gone, the output off, and the page says the board put it back.
      await value.filter({ hasText: 'off' }).waitFor({ timeout: 10_000 });
      const reverted = Date.now() - switched;
      assert.ok(reverted >= 2500, `back off after ${reverted} ms, not before the lease ended`);
      assert.equal(await relay.getByRole('timer').count(), 0, 'no countdown once the lease ended');
      assert.match(await relay.locator('.reverted').innerText({ timeout: 5000 }), /^Lease ended at \d{1,2}:\d{2}:\d{2}.*: the board put it back to off\.$/);
      await page.locator('.events li[data-type="lease_expired"]').filter({ hasText: 'pin 15' }).waitFor({ timeout: 5000 });
    });

    test('a sensor chart has points, and its range can be changed', { timeout: 60_000 }, async () => {
      await page.goto(`${base}#token=${demo.hub.apiToken.token}`);
      await page.goto(`${base}#/board/greenhouse`);
      const chart = page.locator('article[data-sensor="air"][data-quantity="temperature"] .chart');
      assert.ok((await chartPoints(chart, 15_000)) > 0);
      assert.equal(await chart.locator('canvas').count(), 1, 'uPlot drew it');
      await page.getByRole('button', { name: '24 h' }).click();
      assert.equal(await page.getByRole('button', { name: '24 h' }).getAttribute('aria-pressed'), 'true');
      await page.locator('article[data-sensor="air"][data-quantity="temperature"] .chart[aria-label*="24 h"]').waitFor();
      assert.ok((await chartPoints(chart, 10_000)) > 0);
    });

    test('a refused command shows its code and what to do', { timeout: 60_000 }, async () => {
      await page.goto(`${base}#/board/greenhouse`);
      await page.route('**/api/devices/greenhouse/commands', (route) =>
        route.fulfill({ status: 409, contentType: 'application/json', body: JSON.stringify({ error: { code: 'device_offline', message: 'greenhouse is not linked to the hub now' } }) }),
      );
      try {
        await page.locator('li[data-pin="15"]').getByRole('button', { name: /Turn on for/ }).click();
        const alert = page.getByRole('alert');
        await alert.waitFor();
        const text = await alert.innerText();
        assert.match(text, /device_offline/);
        assert.match(text, /greenhouse is not linked/);
        assert.match(text, /check its power and WiFi/);
        await alert.getByRole('button', { name: 'Dismiss' }).click();
        assert.equal(await page.getByRole('alert').count(), 0);
      } finally {
        await page.unroute('**/api/devices/greenhouse/commands');
      }
    });

    test('the rules page lists the demo rules with when each last fired', { timeout: 60_000 }, async () => {
      await page.goto(`${base}#/rules`);
      await page.locator('tr[data-rule]').nth(2).waitFor({ timeout: 10_000 });
      const names = await attributes(page.locator('tr[data-rule]'), 'data-rule');
      assert.deepEqual(names.sort(), ['humid-greenhouse-runs-shed-fan', 'porch-motion-lights-greenhouse', 'porch-motion-on-shed-led']);
      assert.equal(await page.locator('tr[data-rule] .last-fired').count(), 3);
    });

    test('security: with a read token the board page shows the outputs with no switch, slider or lease form, and says why', { timeout: 60_000 }, async () => {
      const viewer = (await demo.hub.store.apiTokens.create('viewer', 'read')).token;
      // A sign-in link is read when the page loads, so each is opened in a fresh load, not as a hash change.
      const signInWith = async (token: string) => {
        await page.goto('about:blank');
        await page.goto(`${base}#token=${token}`);
      };
      try {
        await signInWith(viewer);
        await page.locator('.who[data-scope="read"]').filter({ hasText: 'viewer (read)' }).waitFor({ timeout: 15_000 });
        await page.goto(`${base}#/board/greenhouse`);
        const relay = page.locator('li[data-pin="15"][data-mode="output"]');
        await relay.waitFor({ timeout: 10_000 });
        await page.locator('li.pin[data-mode="pwm"]').first().waitFor();
        assert.equal(await page.locator('li.pin button').count(), 0, 'no switch');
        assert.equal(await page.locator('li.pin input').count(), 0, 'no lease field or duty slider');
        assert.match(await page.locator('[data-read-only]').innerText(), /viewer, which may only read: switching outputs needs a token with the control scope/);
        assert.match(await relay.locator('output.value').innerText(), /^(on|off)$/, 'the output still shows its state');
      } finally {
        await signInWith(demo.hub.apiToken.token);
        await page.locator('.who[data-scope="admin"]').waitFor({ timeout: 15_000 });
      }
      await page.goto(`${base}#/board/greenhouse`);
      await page.locator('li[data-pin="15"]').getByRole('button', { name: /Turn on for/ }).waitFor({ timeout: 10_000 });
    });

    test('a simulated board stopped turns offline in the list, without a reload', { timeout: 60_000 }, async () => {
      await page.goto(`${base}#/`);
      await page.locator('tr[data-board="porch"][data-online="true"]').waitFor({ timeout: 10_000 });
      await page.evaluate('window.notReloaded = true');
      const porch = demo.devices[2] ?? assert.fail('the porch board');
      await porch.close();
      await page.locator('tr[data-board="porch"][data-online="false"]').waitFor({ timeout: 15_000 });
      assert.equal(await page.evaluate('window.notReloaded'), true, 'the same page, not a reload');
      assert.deepEqual((await onlineBoards(page)).sort(), ['greenhouse', 'shed']);
    });

    test("the MQTT bridge's state from GET /api/hub: a warning while the broker is unreachable, a status line once connected, nothing without a bridge", { timeout: 60_000 }, async () => {
      const facade = demo.hub.facade;
      const real = facade.hub.bind(facade);
      assert.equal(real().mqtt, null, 'the demo has no mqtt section');
      // Hours apart, so that the two times cannot be told apart only by chance.
      const since = Date.now() - 2 * 3_600_000;
      const retryAt = Date.now() + 3_600_000;
      let mqtt: MqttStatus = { state: 'down', url: 'mqtt://127.0.0.1:1883', since, error: 'connect ECONNREFUSED 127.0.0.1:1883', retryAt };
      facade.hub = () => ({ ...real(), mqtt });
      try {
        await page.goto('about:blank');
        await page.goto(`${base}#token=${demo.hub.apiToken.token}`);
        const down = page.locator('[data-mqtt="down"]');
        await down.waitFor({ timeout: 15_000 });
        assert.equal(await down.getAttribute('role'), 'status');
        const [sinceText, retryText] = await page.evaluate(
          (times) => times.map((t) => new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })),
          [since, retryAt],
        );
        const text = await down.innerText();
        assert.ok(text.startsWith(`MQTT broker unreachable since ${sinceText}: connect ECONNREFUSED 127.0.0.1:1883; retrying at ${retryText}.`), text);
        assert.match(text, /check that the broker runs/);
        // The page asks again every 10 s: the bridge connected shows without a reload.
        mqtt = { state: 'connected', url: 'mqtt://127.0.0.1:1883', since: Date.now(), error: null, retryAt: null };
        const connected = page.locator('[data-mqtt="connected"][role="status"]');
        await connected.waitFor({ timeout: 15_000 });
        assert.equal(await connected.innerText(), 'MQTT: connected to mqtt://127.0.0.1:1883');
        assert.equal(await down.count(), 0);
      } finally {
        facade.hub = real;
      }
      await page.goto('about:blank');
      const asked = page.waitForResponse((res) => res.url().endsWith('/api/hub'), { timeout: 15_000 });
      await page.goto(`${base}#/`);
      assert.deepEqual(await (await asked).json(), { id: demo.hub.hubId, version: real().version, mqtt: null });
      await page.locator('tr[data-board]').first().waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('[data-mqtt]').count(), 0, 'no MQTT line without a bridge');
    });

    test('security: a full disk on the hub shows a banner that says what to do, and it goes by itself once the hub can write', { timeout: 60_000 }, async () => {
      const store = sqliteStoreOf(demo.hub);
      // The pages the database has are all it gets, and a burst of readings takes what is left.
      store.capPages(store.pageCount());
      const burst = Array.from({ length: 1000 }, (_, i) => ({ device: 'greenhouse', sensor: 'burst', quantity: 'n', ts: Date.now() - 60_000 + i, value: i, unit: null }));
      for (let i = 0; i < 100 && (await demo.hub.facade.storage()).state === 'ok'; i++) {
        try {
          await store.commit({ readings: burst, events: [], linkStates: [] });
        } catch {
          // the burst that did not fit: the store is full now
        }
      }
      assert.equal((await demo.hub.facade.storage()).state, 'full');
      await page.goto(`${base}#token=${demo.hub.apiToken.token}`);
      const banner = page.locator('[data-storage="full"]');
      await banner.waitFor({ timeout: 15_000 });
      assert.equal(await banner.getAttribute('role'), 'alert');
      const text = await banner.innerText();
      assert.match(text, /storage_full/);
      assert.match(text, /SQLITE_FULL/);
      assert.match(text, /Free disk space in the hub’s data folder/);
      store.capPages(1_000_000_000);
      await banner.waitFor({ state: 'detached', timeout: 30_000 });
      assert.equal((await demo.hub.facade.storage()).state, 'ok');
    });
  });
});
