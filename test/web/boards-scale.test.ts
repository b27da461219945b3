// The boards list with 2,000 boards, in a real browser (Debian's Chromium through playwright-core)
// against a real hub: only the rows in view are in the DOM, yet scrolling, search, the keyboard
// and a screen reader's row count reach every board; readings streaming in redraw the list at most
// once a frame and touch only the rows drawn. The stream is the test's own (routeWebSocket), so
// that it can send a burst of readings; the boards and the REST API are the hub's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from '../support/browser.js';
import { startTestHub, type TestHub } from '../support/test-hub.js';

const BOARDS = 2000;
const idOf = (i: number) => `board-${String(i).padStart(4, '0')}`;
/** More than a screenful with its overscan, far fewer than the boards. */
const MOST_ROWS_DRAWN = 80;

interface Drawn {
  /** data-board of each row in the DOM, in order. */
  boards: string[];
  /** aria-rowindex of each. */
  indexes: number[];
  rowCount: number;
  /** Boards whose row is at least partly on screen. */
  onScreen: string[];
}

const DRAWN = `(() => {
  const rows = [...document.querySelectorAll('tr[data-board]')];
  return {
    boards: rows.map((r) => r.dataset.board),
    indexes: rows.map((r) => Number(r.getAttribute('aria-rowindex'))),
    rowCount: Number(document.querySelector('table.boards').getAttribute('aria-rowcount')),
    onScreen: rows.filter((r) => { const b = r.getBoundingClientRect(); return b.bottom > 0 && b.top < innerHeight; }).map((r) => r.dataset.board),
  };
})()`;

const drawn = (page: Page) => page.evaluate<Drawn>(DRAWN);
const focusedBoard = (page: Page) => page.evaluate<string | null>("document.activeElement?.closest('tr[data-board]')?.dataset.board ?? null");

function reading(device: string, value: number): string {
  return JSON.stringify({ type: 'reading', device, sensor: 'air', ts: Date.now(), values: { temperature: value }, units: { temperature: '°C' } });
}

describe('boards list at 2,000 boards', { skip: SKIP_WITHOUT_CHROMIUM, timeout: 180_000 }, () => {
  let browser: Browser;
  let hub: TestHub;
  let page: Page;
  /** The page's stream, once it opened. */
  let stream: WebSocketRoute | undefined;

  before(async () => {
    browser = await launchChromium();
    hub = await startTestHub();
    for (let i = 0; i < BOARDS; i++) await hub.store.addDevice(idOf(i));
    // bypassCSP: the hub's policy forbids evaluating strings, which is how waitForFunction polls.
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    await page.routeWebSocket(/\/api\/stream/, (ws) => {
      stream = ws;
      ws.send(JSON.stringify({ type: 'hello', version: 'test' }));
    });
    await page.goto(`http://127.0.0.1:${hub.http.port}/#token=${hub.apiToken.token}`);
    await page.locator('table.boards[data-loaded="true"] tr[data-board]').first().waitFor({ timeout: 30_000 });
  }, { timeout: 90_000 });
  after(async () => {
    await browser.close();
    await hub.close();
  }, { timeout: 60_000 });

  /** Back to the top of the whole list, the focus nowhere. */
  async function reset(): Promise<void> {
    await page.getByLabel('Search').fill('');
    await page.evaluate('document.activeElement?.blur(); window.scrollTo(0, 0)');
    await page.locator(`tr[data-board="${idOf(0)}"]`).waitFor();
  }

  test('only the rows in view are in the DOM; the table still says how many rows it has and where each is', async () => {
    const seen = await drawn(page);
    assert.ok(seen.boards.length <= MOST_ROWS_DRAWN, `${seen.boards.length} rows drawn of ${BOARDS}`);
    assert.ok(seen.boards.length >= seen.onScreen.length && seen.onScreen.length >= 5, `a screenful drawn: ${JSON.stringify(seen)}`);
    assert.equal(seen.rowCount, BOARDS + 1, 'aria-rowcount: every board and the head row');
    assert.deepEqual(seen.boards.slice(0, 3), [idOf(0), idOf(1), idOf(2)]);
    assert.deepEqual(seen.indexes, seen.boards.map((_, i) => i + 2), 'aria-rowindex from 2 (the head row is 1)');
    const height = await page.evaluate<number>('document.documentElement.scrollHeight');
    assert.ok(height > BOARDS * 20, `the page is as tall as every row: ${height} px`);
  });

  test('scrolling draws the boards scrolled to, down to the last, and no more rows than before', async () => {
    await reset();
    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight / 2)');
    await page.waitForFunction(`(${DRAWN}).onScreen.some((b) => b > ${JSON.stringify(idOf(700))} && b < ${JSON.stringify(idOf(1300))})`);
    let seen = await drawn(page);
    assert.ok(seen.boards.length <= MOST_ROWS_DRAWN, `${seen.boards.length} rows drawn`);
    assert.ok(!seen.boards.includes(idOf(0)), 'the first rows are gone');
    // A run of consecutive boards, each row saying its place in the whole list.
    const first = Number(seen.boards[0]?.slice('board-'.length));
    assert.deepEqual(seen.boards, seen.boards.map((_, i) => idOf(first + i)));
    assert.deepEqual(seen.indexes, seen.boards.map((_, i) => first + i + 2));

    await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)');
    await page.locator(`tr[data-board="${idOf(BOARDS - 1)}"]`).waitFor();
    await page.waitForFunction(`(${DRAWN}).onScreen.includes(${JSON.stringify(idOf(BOARDS - 1))})`);
    seen = await drawn(page);
    assert.ok(seen.boards.length <= MOST_ROWS_DRAWN, `${seen.boards.length} rows drawn`);
    assert.equal(seen.indexes.at(-1), BOARDS + 1);
  });

  test('search finds a board far down the list', async () => {
    await reset();
    await page.getByLabel('Search').fill(idOf(1987));
    await page.waitForFunction("document.querySelectorAll('tr[data-board]').length === 1");
    const seen = await drawn(page);
    assert.deepEqual(seen.boards, [idOf(1987)]);
    assert.equal(seen.rowCount, 2);
    assert.deepEqual(seen.onScreen, [idOf(1987)]);
    assert.match(await page.locator('#boards-count').innerText(), /^2000 boards, 0 online; showing 1$/);
  });

  test('the keyboard: Tab goes from row to row past the rows first drawn; End, Home and the arrows move a row or to either end; the focused row stays drawn when scrolled away', async () => {
    await reset();
    await page.getByRole('link', { name: idOf(0), exact: true }).focus();
    // Further than the rows drawn at first: each Tab finds the next row drawn.
    for (let i = 0; i < MOST_ROWS_DRAWN + 10; i++) await page.keyboard.press('Tab');
    assert.equal(await focusedBoard(page), idOf(MOST_ROWS_DRAWN + 10));
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focusedBoard(page), idOf(MOST_ROWS_DRAWN + 9));

    await page.keyboard.press('End');
    await page.waitForFunction(`document.activeElement?.closest('tr')?.dataset.board === ${JSON.stringify(idOf(BOARDS - 1))}`);
    assert.ok((await drawn(page)).onScreen.includes(idOf(BOARDS - 1)), 'the last board scrolled into view');
    await page.keyboard.press('ArrowUp');
    await page.waitForFunction(`document.activeElement?.closest('tr')?.dataset.board === ${JSON.stringify(idOf(BOARDS - 2))}`);
    await page.keyboard.press('Home');
    await page.waitForFunction(`document.activeElement?.closest('tr')?.dataset.board === ${JSON.stringify(idOf(0))}`);
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(`document.activeElement?.closest('tr')?.dataset.board === ${JSON.stringify(idOf(1))}`);

    // Scrolled far away with the mouse, the focused row stays, and Tab goes on from it.
    await page.mouse.wheel(0, 30_000);
    await page.waitForFunction(`!(${DRAWN}).onScreen.includes(${JSON.stringify(idOf(1))})`);
    assert.equal(await focusedBoard(page), idOf(1));
    assert.ok((await drawn(page)).boards.length <= 2 * MOST_ROWS_DRAWN);
    await page.keyboard.press('Tab');
    assert.equal(await focusedBoard(page), idOf(2));
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/board\/board-0002$/);
    await page.goBack();
    await page.locator('table.boards tr[data-board]').first().waitFor();
  });

  test('on a 390 px wide phone the rows are cards, nothing scrolls sideways, and scrolling still reaches the last board', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, bypassCSP: true });
    try {
      const phone = await context.newPage();
      await phone.routeWebSocket(/\/api\/stream/, (ws) => ws.send(JSON.stringify({ type: 'hello', version: 'test' })));
      await phone.goto(`http://127.0.0.1:${hub.http.port}/#token=${hub.apiToken.token}`);
      await phone.locator('table.boards[data-loaded="true"] tr[data-board]').first().waitFor({ timeout: 30_000 });
      const sideways = '({ doc: document.documentElement.scrollWidth - document.documentElement.clientWidth, list: document.querySelector(".table-wrap").scrollWidth - document.querySelector(".table-wrap").clientWidth })';
      const cards = "[...document.querySelectorAll('tr[data-board]')].map((r) => getComputedStyle(r).display)";
      for (const where of ['0', 'document.documentElement.scrollHeight / 2', 'document.documentElement.scrollHeight']) {
        await phone.evaluate(`window.scrollTo(0, ${where})`);
        await phone.waitForFunction(`(${DRAWN}).onScreen.length > 0`);
        assert.deepEqual(await phone.evaluate(sideways), { doc: 0, list: 0 }, `no sideways scroll at ${where}`);
        assert.ok((await phone.evaluate<string[]>(cards)).every((d) => d === 'grid'), 'each row a card');
        assert.ok((await drawn(phone)).boards.length <= MOST_ROWS_DRAWN);
      }
      await phone.waitForFunction(`(${DRAWN}).onScreen.includes(${JSON.stringify(idOf(BOARDS - 1))})`);
    } finally {
      await context.close();
    }
  });

  test('a burst of 2,000 readings redraws the list at most once a frame and touches only the rows drawn; a board scrolled to later shows its latest value', async (t) => {
    await reset();
    const ws = stream ?? assert.fail('the page opened its stream');
    // Redraws: MutationObserver callbacks on the list (each one a batch of DOM changes); frames: rAF callbacks meanwhile.
    await page.evaluate(`(() => {
      const watch = { redraws: 0, frames: 0, touched: new Set(), created: new Set() };
      window.__watch = watch;
      new MutationObserver((records) => {
        watch.redraws++;
        for (const r of records) {
          const row = (r.target.nodeType === 1 ? r.target : r.target.parentElement)?.closest('tr[data-board]');
          if (row) watch.touched.add(row.dataset.board);
          for (const n of r.addedNodes) if (n.nodeType === 1 && n.matches('tr[data-board]')) watch.created.add(n.dataset.board);
        }
      }).observe(document.querySelector('table.boards'), { subtree: true, childList: true, characterData: true, attributes: true });
      (function frame() { watch.frames++; requestAnimationFrame(frame); })();
    })()`);
    const drawnBefore = (await drawn(page)).boards;
    // 1,000 readings for the first 10 boards (drawn), 1,000 for boards far down (not drawn); the last value of each is 1100.
    const messages: string[] = [];
    for (let round = 1; round <= 100; round++) {
      for (let b = 0; b < 10; b++) messages.push(reading(idOf(b), 1000 + round), reading(idOf(1500 + b), 1000 + round));
    }
    for (const m of messages) ws.send(m);
    await page.locator(`tr[data-board="${idOf(9)}"] td.sensors`).filter({ hasText: 'air 1100 °C' }).waitFor({ timeout: 30_000 });
    // One more frame, so that a redraw still due would be counted.
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    const watch = await page.evaluate<{ redraws: number; frames: number; touched: string[]; created: string[] }>(
      '({ redraws: __watch.redraws, frames: __watch.frames, touched: [...__watch.touched], created: [...__watch.created] })',
    );
    t.diagnostic(`${messages.length} messages: ${watch.redraws} redraws in ${watch.frames} frames`);
    assert.ok(watch.redraws <= watch.frames + 1, `at most one redraw a frame: ${watch.redraws} redraws in ${watch.frames} frames`);
    // One redraw per message would be 1,000 for the drawn boards alone.
    assert.ok(watch.redraws < messages.length / 2, `${watch.redraws} redraws for ${messages.length} messages`);
    assert.deepEqual(watch.created, [], 'no row drawn anew');
    assert.ok(watch.touched.length <= 10 && watch.touched.every((b) => drawnBefore.includes(b)), `only drawn rows changed: ${JSON.stringify(watch.touched)}`);

    await page.getByLabel('Search').fill(idOf(1509));
    await page.locator(`tr[data-board="${idOf(1509)}"] td.sensors`).filter({ hasText: 'air 1100 °C' }).waitFor();
  });
});
