// The dashboard on a phone, in a real browser (Debian's Chromium through playwright-core) against
// the demo: the boards list folds into cards that fit the screen, the header stays on its lines,
// and the table keeps its meaning for a screen reader. Screenshots go under the temp folder; the
// test output names them.
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startDemo, type Demo } from '../../src/cli/demo-command.js';
import { silentLogger } from '../../src/device/logger.js';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from '../support/browser.js';

const PHONES = [
  { width: 390, height: 844 },
  { width: 360, height: 740 },
];

/** Everything the page can tell about how the boards list and the header are laid out. */
interface Layout {
  doc: { scrollWidth: number; clientWidth: number };
  list: { scrollWidth: number; clientWidth: number };
  rows: { board: string; height: number; sensorsHeight: number }[];
  /** Each board's signal: where it is, and whether its own box clips its text. */
  signals: { board: string; right: number; clipped: boolean; text: string }[];
  signOut: { left: number; right: number; top: number; bottom: number; lines: number };
  viewport: { width: number; height: number };
}

/** Reads the Layout in the page (a script: the tests are compiled without the DOM's types). */
const LAYOUT = `(() => {
  const rect = (el) => el.getBoundingClientRect();
  // The line boxes of an element's text: one when it did not wrap.
  const lines = (el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  };
  const wrap = document.querySelector('.table-wrap');
  const visible = rect(wrap);
  const signOut = [...document.querySelectorAll('header button')].find((b) => b.textContent === 'Sign out');
  const box = rect(signOut);
  const rows = [...document.querySelectorAll('tr[data-board]')];
  return {
    doc: { scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth },
    list: { scrollWidth: wrap.scrollWidth, clientWidth: wrap.clientWidth },
    rows: rows.map((tr) => ({ board: tr.dataset.board, height: rect(tr).height, sensorsHeight: rect(tr.querySelector('.sensors')).height })),
    signals: rows.map((tr) => {
      const signal = tr.querySelector('.signal');
      const cell = signal.closest('td');
      const r = rect(signal);
      return {
        board: tr.dataset.board,
        right: r.right,
        // Cut by the list's visible box (scrolled out of it) or by its own cell.
        clipped: r.right > visible.right + 0.5 || r.left < visible.left - 0.5 || signal.scrollWidth > cell.clientWidth + 0.5,
        text: signal.textContent,
      };
    }),
    signOut: { left: box.left, right: box.right, top: box.top, bottom: box.bottom, lines: lines(signOut) },
    viewport: { width: window.innerWidth, height: window.innerHeight },
  };
})()`;

function layout(page: Page): Promise<Layout> {
  return page.evaluate<Layout>(LAYOUT);
}

/** The roles Chromium itself gives the boards list (its accessibility tree, not the DOM). */
async function tableRoles(page: Page): Promise<Map<string, string[]>> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: { ignored?: boolean; role?: { value?: string }; name?: { value?: string } }[] };
    const roles = new Map<string, string[]>();
    for (const node of nodes) {
      const role = node.role?.value;
      if (node.ignored === true || role === undefined) continue;
      roles.set(role, [...(roles.get(role) ?? []), node.name?.value ?? '']);
    }
    return roles;
  } finally {
    await cdp.detach();
  }
}

describe('web dashboard on a phone', { skip: SKIP_WITHOUT_CHROMIUM, timeout: 120_000 }, () => {
  let browser: Browser;
  let demo: Demo;
  let base: string;
  before(async () => {
    browser = await launchChromium();
    demo = await startDemo({ httpPort: 0, linkPort: 0, logger: silentLogger });
    base = `http://127.0.0.1:${demo.hub.http.port}/`;
  }, { timeout: 60_000 });
  after(async () => {
    await browser.close();
    await demo.close();
  }, { timeout: 60_000 });

  for (const phone of PHONES) {
    test(`at ${phone.width}x${phone.height} the boards list fits the screen: no sideways scroll, short rows, the signal and Sign out whole`, { timeout: 60_000 }, async (t) => {
      const context = await browser.newContext({ viewport: phone, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
      try {
        const page = await context.newPage();
        await page.goto(`${base}#token=${demo.hub.apiToken.token}`);
        await page.locator('tr[data-board][data-online="true"]').nth(2).waitFor({ timeout: 15_000 });
        // Every board with its readings, so that the rows are as full as they get.
        await page.locator('tr[data-board] td.sensors').filter({ hasText: '°C' }).nth(2).waitFor({ timeout: 15_000 });
        const shot = path.join(os.tmpdir(), `tether-boards-${phone.width}x${phone.height}.png`);
        await page.screenshot({ path: shot, fullPage: true });
        t.diagnostic(`screenshot: ${shot}`);

        const seen = await layout(page);
        const all = JSON.stringify(seen);
        assert.ok(seen.doc.scrollWidth <= seen.doc.clientWidth, `the page does not scroll sideways: ${all}`);
        assert.ok(seen.list.scrollWidth <= seen.list.clientWidth, `nor does the boards list: ${all}`);
        assert.equal(seen.rows.length, 3);
        for (const row of seen.rows) {
          // A card: its name and status, when seen and its signal, then its sensors as tall as their text.
          assert.ok(row.height <= row.sensorsHeight + 90, `${row.board}: a ${row.height.toFixed(0)} px row for ${row.sensorsHeight.toFixed(0)} px of sensors: ${all}`);
          assert.ok(row.height <= 200, `${row.board}: ${row.height.toFixed(0)} px tall: ${all}`);
        }
        for (const signal of seen.signals) {
          assert.match(signal.text, /^-\d+ dBm$/, `${signal.board} reports a signal`);
          assert.ok(!signal.clipped && signal.right <= seen.viewport.width, `${signal.board}: "${signal.text}" shows whole: ${all}`);
        }
        const out = seen.signOut;
        assert.ok(out.left >= 0 && out.right <= seen.viewport.width && out.top >= 0 && out.bottom <= seen.viewport.height, `Sign out is on screen: ${all}`);
        assert.equal(out.lines, 1, `"Sign out" on one line: ${all}`);

        // A screen reader still reads a table: a row per board with its name, and the column heads.
        const roles = await tableRoles(page);
        assert.deepEqual(roles.get('table'), ['Boards']);
        assert.deepEqual([...(roles.get('rowheader') ?? [])].sort(), ['greenhouse', 'porch', 'shed']);
        for (const head of ['Board', 'Status', 'Last seen', 'Signal', 'Sensors']) assert.ok(roles.get('columnheader')?.includes(head), `column head ${head}: ${JSON.stringify([...roles])}`);
        assert.ok((roles.get('cell')?.length ?? 0) >= 3 * 4, 'cells in every row');

        // A board's page fits too.
        await page.getByRole('link', { name: 'greenhouse' }).click();
        await page.locator('[data-board-page="greenhouse"] li[data-pin]').first().waitFor({ timeout: 15_000 });
        const boardShot = path.join(os.tmpdir(), `tether-board-${phone.width}x${phone.height}.png`);
        await page.screenshot({ path: boardShot, fullPage: true });
        t.diagnostic(`screenshot: ${boardShot}`);
        const doc = await page.evaluate<{ scrollWidth: number; clientWidth: number }>('({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })');
        assert.ok(doc.scrollWidth <= doc.clientWidth, `the board page does not scroll sideways: ${JSON.stringify(doc)}`);
      } finally {
        await context.close();
      }
    });
  }
});
