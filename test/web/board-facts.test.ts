// What the dashboard says about a board is true, in a real browser (Debian's Chromium through
// playwright-core): its uptime counted from when it reported it and moving while the page stays
// open, when its current link came up, "unknown" while the hub cannot be reached (the page talks
// to the hub through a fault-injecting proxy), dates in the browser's locale, and a sign-in page
// that names the product and says what to do in words a person reads.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { DeviceView } from '../../src/hub/types.js';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from '../support/browser.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { startLinkedBoard, untilLinked, type LinkedBoard } from '../support/linked-board.js';
import { withLastChanged } from '../support/near-miss-token.js';
import { eventually, startTestHub } from '../support/test-hub.js';

const ID = 'bench';
/** A relay and the chip's temperature: a board that reports readings and nothing else unasked. */
const BENCH = { name: ID, pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }], sensors: [{ name: 'chip', driver: 'chip_temp' }] };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds from the page's duration text: "42 s", "12 min 5 s", "5 h 12 min" (and the old "5.1 s"). */
function durationSeconds(text: string): number {
  let total = 0;
  let matched = false;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)\s*(d|h|min|s)\b/g)) {
    matched = true;
    total += Number(n) * ({ d: 86_400, h: 3600, min: 60, s: 1 }[unit as 'd' | 'h' | 'min' | 's'] ?? 0);
  }
  assert.ok(matched, `a duration: ${JSON.stringify(text)}`);
  return total;
}

describe('web dashboard: what it says about a board is true', { skip: SKIP_WITHOUT_CHROMIUM, timeout: 180_000 }, () => {
  let browser: Browser;
  let hub: Awaited<ReturnType<typeof startTestHub>>;
  let token: string;
  let board: LinkedBoard;
  let proxy: FaultProxy;
  let base: string;
  let context: BrowserContext;
  let page: Page;

  /** Opens the sign-in link and waits until it signed in (it is read when the page loads, so not navigated away from before). */
  const signIn = async (p: Page) => {
    await p.goto(`${base}#token=${hub.apiToken.token}`);
    await p.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 15_000 });
  };
  /** The value of one of the facts at the top of the board's page ("Up for", "Linked since"). */
  const fact = (name: string) => page.locator('dl.facts > div').filter({ has: page.locator('dt', { hasText: name }) }).locator('dd');
  const view = async (): Promise<DeviceView> => {
    const res = await fetch(`http://127.0.0.1:${hub.http.port}/api/devices/${ID}`, { headers: { authorization: `Bearer ${hub.apiToken.token}` } });
    return ((await res.json()) as { device: DeviceView }).device;
  };

  before(async () => {
    browser = await launchChromium();
    hub = await startTestHub({ config: { telemetry: { interval_ms: 500 } } });
    token = (await hub.store.addDevice(ID)).token;
    board = await startLinkedBoard({ port: hub.link.port, token, id: ID, config: BENCH });
    await untilLinked(board.link);
    // The page reaches the hub only through the proxy, which can make the hub unreachable.
    proxy = await FaultProxy.start({ target: { host: '127.0.0.1', port: hub.http.port } });
    base = `http://127.0.0.1:${proxy.port}/`;
    context = await browser.newContext();
    page = await context.newPage();
  }, { timeout: 60_000 });
  after(async () => {
    await context.close();
    await browser.close();
    await proxy.close();
    await board.close();
    await hub.close();
  }, { timeout: 60_000 });

  test('"Up for" is the uptime the board reported plus the time since it reported it, and moves on while the page stays open', { timeout: 60_000 }, async () => {
    // The board reported its uptime when it linked; by the time the page opens that report is old.
    await sleep(4000);
    await signIn(page);
    await page.goto(`${base}#/board/${ID}`);
    const uptime = fact('Up for');
    await uptime.filter({ hasText: /\d/ }).waitFor({ timeout: 15_000 });
    const before = board.board.uptimeMs() / 1000;
    const first = durationSeconds(await uptime.innerText());
    const afterRead = board.board.uptimeMs() / 1000;
    // Whole seconds on the page; a second of slack either side for the clocks' ticks.
    assert.ok(first >= before - 1.5 && first <= afterRead + 1, `shows ${first} s while the board has been up ${before.toFixed(1)}–${afterRead.toFixed(1)} s`);
    // Nothing changes on the board, and yet the uptime goes on: the page counts it.
    await eventually(async () => (durationSeconds(await uptime.innerText()) > first ? true : undefined), 'the uptime moved on', 15_000);
  });

  test('"Linked since" is when the board\'s current link came up, not when it was first seen; it says so when not linked', { timeout: 60_000 }, async () => {
    await page.goto(`${base}#/board/${ID}`);
    const linked = fact('Linked since');
    await linked.filter({ hasText: /ago|now/ }).waitFor({ timeout: 15_000 });
    // The board links again (a restart), well after it was first seen.
    await sleep(6000);
    await board.close();
    await eventually(async () => ((await view()).online ? undefined : true), 'the board offline', 10_000);
    const offline = await view();
    assert.equal(offline.linkedSince, null, 'no link, no link time');
    assert.equal(offline.bootedAt, null);
    await linked.filter({ hasText: 'not linked now' }).waitFor({ timeout: 15_000 });
    board = await startLinkedBoard({ port: hub.link.port, token, id: ID, config: BENCH });
    await untilLinked(board.link);
    const relinked = await eventually(async () => {
      const v = await view();
      return v.online ? v : undefined;
    }, 'the board online again', 10_000);
    assert.ok(relinked.linkedSince !== null && relinked.firstSeen !== null && relinked.linkedSince - relinked.firstSeen >= 6000, JSON.stringify(relinked));
    const since = relinked.linkedSince;
    const time = await page.evaluate((ts) => new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(ts), since);
    await linked.filter({ hasText: new RegExp(`^${time} \\((just now|\\d s ago)\\)$`) }).waitFor({ timeout: 15_000 });
    assert.doesNotMatch(await linked.innerText(), /first seen/);
  });

  test('while the hub cannot be reached every board shows "unknown" and the page says so; when it answers again the boards are live again', { timeout: 90_000 }, async () => {
    if (!(await view()).online) {
      board = await startLinkedBoard({ port: hub.link.port, token, id: ID, config: BENCH });
      await untilLinked(board.link);
    }
    await page.goto(`${base}#/`);
    const row = page.locator(`tr[data-board="${ID}"]`);
    await row.and(page.locator('[data-online="true"]')).waitFor({ timeout: 15_000 });
    assert.equal(await row.locator('.status').innerText(), 'online');

    proxy.refuse(true);
    proxy.dropAll();
    await row.and(page.locator('[data-online="unknown"]')).waitFor({ timeout: 15_000 });
    assert.equal(await row.locator('.status').innerText(), 'unknown');
    assert.notEqual(await row.locator('.board-seen').innerText(), 'now', 'not seen "now": it was last heard when the hub went away');
    assert.match(await page.locator('.banner[role="status"]').innerText(), /Cannot reach the hub/);
    assert.match(await page.locator('#boards-count').innerText(), /unknown while the hub cannot be reached/);
    // The board page says the same.
    await page.goto(`${base}#/board/${ID}`);
    await page.locator('[data-board-page] .status[data-online="unknown"]').waitFor({ timeout: 15_000 });

    proxy.refuse(false);
    await page.goto(`${base}#/`);
    // The stream comes back with its backoff (up to 10 s), then the boards reload.
    await row.and(page.locator('[data-online="true"]')).waitFor({ timeout: 45_000 });
    assert.equal(await row.locator('.status').innerText(), 'online');
    assert.equal(await row.locator('.board-seen').innerText(), 'now');
    assert.equal(await page.locator('.banner[role="status"]').count(), 0, 'no unreachable notice once the hub answers');
  });

  test('dates and times are in the browser\'s locale: a German browser shows German dates', { timeout: 60_000 }, async () => {
    // An event from three days ago: the log gives its date, not only its time.
    const old = new Date();
    old.setDate(old.getDate() - 3);
    old.setHours(15, 4, 5, 0);
    await hub.store.commit({ readings: [], events: [{ device: ID, ts: old.getTime(), type: 'edge', data: { pin: 22, value: 1 } }], linkStates: [] });
    const german = await browser.newContext({ locale: 'de-DE', timezoneId: 'Europe/Berlin' });
    try {
      const de = await german.newPage();
      await signIn(de);
      await de.goto(`${base}#/board/${ID}`);
      const expected = await de.evaluate((ts) => new Date(ts).toLocaleString('de-DE', { dateStyle: 'medium', timeStyle: 'medium' }), old.getTime());
      assert.match(expected, /^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}:\d{2}$/, 'German: day.month.year, 24-hour clock');
      const line = de.locator('.events li[data-type="edge"] time');
      await line.first().waitFor({ timeout: 15_000 });
      assert.deepEqual(await line.allInnerTexts(), [expected]);
      // The link time, on the 24-hour clock; and the chart's span, the German way.
      assert.match(await de.locator('[data-fact="linked-since"]').innerText(), /^\d{2}:\d{2} \(/);
      const chart = de.locator('article[data-sensor="chip"] .chart');
      await chart.and(de.locator('[data-points]:not([data-points=""])')).waitFor({ timeout: 15_000 });
      assert.match((await chart.getAttribute('aria-label')) ?? '', /\(\d{2}\.\d{2}\.\d{2}, \d{2}:\d{2} to \d{2}\.\d{2}\.\d{2}, \d{2}:\d{2}\)/);
    } finally {
      await german.close();
    }
  });

  test('security: the sign-in page names the product, and a refused token is explained in words a person reads, with what to do next', { timeout: 60_000 }, async () => {
    const fresh = await browser.newContext();
    try {
      const p = await fresh.newPage();
      await p.goto(base);
      await p.getByRole('heading', { level: 1, name: 'Sign in to Tether' }).waitFor({ timeout: 15_000 });
      assert.match(await p.title(), /Tether/);
      await p.getByLabel('API token').fill(withLastChanged(hub.apiToken.token));
      await p.getByRole('button', { name: 'Sign in' }).click();
      const alert = p.getByRole('alert');
      await alert.waitFor({ timeout: 15_000 });
      const text = await alert.innerText();
      assert.match(text, /The hub did not accept this token\./);
      assert.match(text, /Check that you pasted the whole token, or open the sign-in link again: tether hub token show, run on the hub’s computer, prints it\./);
      assert.doesNotMatch(text, /`|Authorization|Bearer|<token>|<data>/, 'no developer text, no literal backticks');
      assert.equal(await alert.locator('code').first().innerText(), 'tether hub token show', 'the command to run, set as code');
      assert.equal(await p.getByLabel('API token').getAttribute('aria-invalid'), 'true');
    } finally {
      await fresh.close();
    }
  });
});
