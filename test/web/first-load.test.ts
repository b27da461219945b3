// What the dashboard's first load asks for, in a real browser (Debian's Chromium through
// playwright-core) against a real hub: the scripts index.html names and nothing more, each other
// page's code only when the page is first opened (and the page then works), a page whose code
// cannot be fetched says so and what to do, and the hub's own checks wait until the boards are in.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BUILT_DASHBOARD_DIR } from '../../src/hub/api/dashboard.js';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from '../support/browser.js';
import { eventually, startTestHub, type TestHub } from '../support/test-hub.js';

const BOARDS = ['alpha', 'bravo'];
const SCRIPT = /\/assets\/[^/?#]+\.js$/;

/** The scripts index.html names: the entry and the chunks it imports (modulepreload). */
function firstLoadScripts(): string[] {
  const page = fs.readFileSync(path.join(BUILT_DASHBOARD_DIR, 'index.html'), 'utf8');
  return [...page.matchAll(/"(\/assets\/[^"]+\.js)"/g)].map((m) => m[1] ?? '').sort();
}

describe('the dashboard’s first load', { skip: SKIP_WITHOUT_CHROMIUM, timeout: 120_000 }, () => {
  let browser: Browser;
  let hub: TestHub;
  let link: string;
  before(async () => {
    browser = await launchChromium();
    hub = await startTestHub();
    for (const id of BOARDS) await hub.store.addDevice(id);
    link = `http://127.0.0.1:${hub.http.port}/#token=${hub.apiToken.token}`;
  }, { timeout: 60_000 });
  after(async () => {
    await browser.close();
    await hub.close();
  }, { timeout: 60_000 });

  /** A fresh context (nothing cached), with every script it asks for recorded, in order. */
  async function freshPage(): Promise<{ context: BrowserContext; page: Page; scripts: string[] }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const scripts: string[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url()).pathname;
      if (SCRIPT.test(url)) scripts.push(url);
    });
    await page.goto(link);
    await page.locator('table.boards[data-loaded="true"] tr[data-board]').nth(BOARDS.length - 1).waitFor({ timeout: 15_000 });
    return { context, page, scripts };
  }

  test('the boards list loads only the scripts index.html names; each other page’s code comes when it is first opened, and the page works', async () => {
    const { context, page, scripts } = await freshPage();
    try {
      const first = firstLoadScripts();
      assert.ok(first.length >= 1, 'index.html names the entry script');
      assert.deepEqual([...new Set(scripts)].sort(), first, 'the boards list needs nothing else');

      const opens: Array<[string, () => Promise<void>]> = [
        ['#/rules', () => page.getByRole('heading', { name: 'Rules' }).waitFor({ timeout: 10_000 })],
        ['#/updates', () => page.getByRole('heading', { name: 'Updates' }).waitFor({ timeout: 10_000 })],
        ['#/add', () => page.getByRole('heading', { name: 'Add board' }).waitFor({ timeout: 10_000 })],
        [`#/board/${BOARDS[0] ?? ''}`, () => page.locator(`[data-board-page="${BOARDS[0] ?? ''}"]`).waitFor({ timeout: 10_000 })],
      ];
      for (const [hash, shown] of opens) {
        const before = scripts.length;
        await page.goto(`http://127.0.0.1:${hub.http.port}/${hash}`);
        await shown();
        assert.ok(scripts.slice(before).some((s) => !first.includes(s)), `${hash}: its code came when it was opened (${scripts.slice(before).join(', ') || 'nothing asked for'})`);
      }
      // The board page works: its pins and sensors are asked for, and it says the board is offline.
      await page.locator('[data-board-page] .status', { hasText: 'offline' }).first().waitFor({ timeout: 10_000 });

      // Opened again, a page is drawn at once from the code already here.
      const before = scripts.length;
      await page.goto(`http://127.0.0.1:${hub.http.port}/#/rules`);
      await page.getByRole('heading', { name: 'Rules' }).waitFor({ timeout: 10_000 });
      assert.deepEqual(scripts.slice(before), [], 'no script asked for again');
    } finally {
      await context.close();
    }
  });

  test('a page whose code cannot be fetched says so and what to do; after a reload it opens', async () => {
    const { context, page } = await freshPage();
    try {
      const first = firstLoadScripts();
      // The hub was updated since the tab loaded: the page's chunk is not there any more.
      await page.route(SCRIPT, (route) => (first.includes(new URL(route.request().url()).pathname) ? route.continue() : route.fulfill({ status: 404, body: 'not found' })));
      await page.goto(`http://127.0.0.1:${hub.http.port}/#/updates`);
      const alert = page.getByRole('alert');
      await alert.waitFor({ timeout: 10_000 });
      const text = await alert.innerText();
      assert.match(text, /page_not_loaded/);
      assert.match(text, /Reload the page/);
      assert.equal(await page.getByRole('heading', { name: 'Updates' }).count(), 0);

      await page.unroute(SCRIPT);
      await page.reload();
      await page.getByRole('heading', { name: 'Updates' }).waitFor({ timeout: 10_000 });
      assert.equal(await page.getByRole('alert').count(), 0);
    } finally {
      await context.close();
    }
  });

  test('the hub’s own checks (its storage, its MQTT bridge) are asked once the boards are in, not before', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const seen: string[] = [];
    const api = (url: string) => new URL(url).pathname;
    page.on('request', (r) => seen.push(`asked ${api(r.url())}`));
    page.on('requestfinished', (r) => seen.push(`answered ${api(r.url())}`));
    try {
      await page.goto(link);
      await page.locator('table.boards[data-loaded="true"] tr[data-board]').first().waitFor({ timeout: 15_000 });
      await eventually(() => (seen.includes('asked /api/health') && seen.includes('asked /api/hub') ? true : undefined), 'the hub checked', 10_000);
      for (const check of ['/api/health', '/api/hub']) {
        const asked = seen.indexOf(`asked ${check}`);
        assert.ok(asked >= 0, `${check} was asked: ${seen.join(', ')}`);
        for (const list of ['/api/devices', '/api/sensors']) {
          const answered = seen.indexOf(`answered ${list}`);
          assert.ok(answered >= 0 && answered < asked, `${check} asked after ${list} answered: ${seen.join(', ')}`);
        }
      }
    } finally {
      await context.close();
    }
  });
});
