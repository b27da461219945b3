// `npm run bench:web`: how fast the dashboard is usable, measured in Debian's Chromium on this
// machine, with 1,000 and with 10,000 boards linked to the hub (the fake boards of
// bench/hub/swarm.ts, in processes of their own), so that the page loads and answers while
// readings stream into it: at 1,000 boards every board sends a reading a second; at 10,000 every
// fifth does (2,000 readings a second, spread over the list), because 10,000 a second is more
// than the hub, the fake boards and the browser together get through on a 2-core machine (the
// hub falls behind and its stream to the page stalls), and that would measure the machine.
//
// For each load, in a fresh browser context (nothing cached), timed inside the page
// (bench/web/page-probe.ts) from the start of the navigation to the dashboard link:
//   list shown   the list is loaded and its first rows are on screen;
//   interactive  then a search for one board (one input event) shows only that board;
//   search       then the board's id typed into Search a key at a time, 150 ms apart: each key
//                from its keydown to the list showing what the box holds;
//   live         then 2 s with the whole list shown: stream messages, redraws of the list, frames,
//                and the board rows in the DOM.
// The baseline, in the same run, for each load: the same boards as one static HTML table with the
// dashboard's stylesheet and no script (bench/web/static-page.ts), timed by the same probe: shown
// at its load, and the same keys typed into its search box (nothing to filter: the key echoed).
// It is what the browser needs to show a list of that size and to answer a key at all, without
// our code. Also the dashboard's size: what the browser downloads, gzipped as the hub serves it.
//
// The goals are printed with met or missed; the bench reports, it does not fail on a slow machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { SystemClock } from '../src/common/clock.js';
import { silentLogger } from '../src/device/logger.js';
import { BUILT_DASHBOARD_DIR } from '../src/hub/api/dashboard.js';
import { parseHubConfig } from '../src/hub/config.js';
import { startHub } from '../src/hub/hub.js';
import { launchChromium } from '../test/support/browser.js';
import { RpcChild } from './hub/common.js';
import { pageProbe, type ProbeMark, type ProbeResult } from './web/page-probe.js';
import { serveStaticPage, staticBoardsPage } from './web/static-page.js';

const QUICK = process.argv.includes('--quick');
const LOADS = QUICK ? 3 : 7;
/** `--boards=1000` measures one size only. */
const SIZES = (process.argv.find((a) => a.startsWith('--boards='))?.slice('--boards='.length).split(',') ?? ['1000', '10000']).map(Number);
/** Of the boards, one in this many sends a reading a second; the others stay linked and quiet. */
const READING_EVERY = (boards: number) => (boards > 1000 ? 5 : 1);
const VIEWPORT = { width: 1280, height: 900 };
const KEY_DELAY_MS = 150;
const LIVE_WINDOW_MS = 2000;

const GOALS = {
  interactiveMs: new Map([
    [1000, 300],
    [10_000, 1000],
  ]),
  /** Each key's answer, judged on the 95th percentile of all keys typed. */
  searchMs: 100,
  /** Rows in the DOM: a screenful and the overscan on each side, whatever the number of boards. */
  rowsInDom: 100,
} as const;

interface DashboardLoad {
  listShown: number;
  interactive: number;
  keys: number[];
  live: { seconds: number; messages: number; redraws: number; frames: number; rows: number };
}

interface StaticLoad {
  shown: number;
  keys: number[];
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
};
const median = (xs: number[]) => quantile(xs, 0.5);
const ms = (x: number) => `${x.toFixed(0)} ms`;
const verdict = (met: boolean) => (met ? 'met' : 'MISSED');

async function newPage(browser: Browser, probe: string): Promise<{ page: Page; close: () => Promise<void> }> {
  // bypassCSP: the hub's policy forbids evaluating strings, which is how the probe's marks are read.
  const context = await browser.newContext({ viewport: VIEWPORT, bypassCSP: true });
  const page = await context.newPage();
  await page.addInitScript(probe);
  return { page, close: () => context.close() };
}

/** Types `text` into the search box a key at a time; the time of each key, once all answered. */
async function typeKeys(page: Page, text: string): Promise<number[]> {
  await page.locator('input[type="search"]').focus();
  await page.keyboard.type(text, { delay: KEY_DELAY_MS });
  await page.waitForFunction(`__probe.keys.length >= ${text.length}`, undefined, { timeout: 30_000, polling: 50 });
  return page.evaluate<number[]>('__probe.keys');
}

async function openDashboard(browser: Browser, link: string, board: string): Promise<DashboardLoad> {
  const { page, close } = await newPage(browser, pageProbe('dashboard', board));
  try {
    await page.goto(link);
    await page.waitForFunction('__probe.interactive !== undefined', undefined, { timeout: 60_000, polling: 50 });
    const { shown, interactive } = await page.evaluate<ProbeResult>('__probe');
    // The whole list again, then the keys from an empty box.
    await page.locator('input[type="search"]').fill('');
    await page.waitForFunction('document.querySelector("table.boards").dataset.query === ""', undefined, { timeout: 30_000, polling: 50 });
    const keys = await typeKeys(page, board);
    await page.locator('input[type="search"]').fill('');
    await page.waitForTimeout(500);
    const before = await page.evaluate<ProbeMark>('__probe.mark()');
    await page.waitForTimeout(LIVE_WINDOW_MS);
    const after = await page.evaluate<ProbeMark>('__probe.mark()');
    return {
      listShown: shown ?? NaN,
      interactive: interactive ?? NaN,
      keys,
      live: {
        seconds: (after.at - before.at) / 1000,
        messages: after.messages - before.messages,
        redraws: after.redraws - before.redraws,
        frames: after.frames - before.frames,
        rows: after.rows,
      },
    };
  } finally {
    await close();
  }
}

async function openStatic(browser: Browser, url: string, board: string): Promise<StaticLoad> {
  const { page, close } = await newPage(browser, pageProbe('static', board));
  try {
    await page.goto(url);
    await page.waitForFunction('__probe.shown !== undefined', undefined, { timeout: 60_000, polling: 50 });
    const shown = await page.evaluate<number>('__probe.shown');
    return { shown, keys: await typeKeys(page, board) };
  } finally {
    await close();
  }
}

async function scenario(browser: Browser, boards: number): Promise<{ dashboard: DashboardLoad[]; baseline: StaticLoad[] }> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-web-bench-'));
  const config = parseHubConfig({ data, link: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } }, 'bench hub');
  const hub = await startHub({ config, logger: silentLogger, clock: new SystemClock() });
  // The boards that send readings in one process, the quiet ones in another.
  const reading = RpcChild.start('swarm', 'swarm.js', []);
  const quiet = RpcChild.start('quiet swarm', 'swarm.js', []);
  let staticPage: Awaited<ReturnType<typeof serveStaticPage>> | undefined;
  try {
    const ids: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < boards; i++) {
      const id = `board-${String(i).padStart(5, '0')}`;
      ids.push({ id, token: (await hub.store.addDevice(id)).token });
    }
    const every = READING_EVERY(boards);
    const readers = ids.filter((_, i) => i % every === 0);
    const started = performance.now();
    // One after the other: both processes dial from the same loopback addresses.
    const linked = await reading.call<{ up: number }>('connect', { port: hub.link.port, boards: readers, concurrency: 100 });
    const linkedQuiet = readers.length === ids.length ? { up: 0 } : await quiet.call<{ up: number }>('connect', { port: hub.link.port, boards: ids.filter((_, i) => i % every !== 0), concurrency: 100 });
    const linkMs = performance.now() - started;
    // A new value each time, so that the rows in view do change.
    await reading.call('readings', { changing: true });
    // Every reading board has reported, so its row has a value to show.
    await new Promise((r) => setTimeout(r, 3000));
    const devices = hub.facade.devices();
    const sensors = await hub.facade.latestSensors();
    console.log(
      `\n${boards} boards: ${linked.up + linkedQuiet.up} linked in ${ms(linkMs)}, ${devices.filter((d) => d.online).length} online, ${sensors.length} sensor series; readings streaming at ~${readers.length}/s`,
    );
    staticPage = await serveStaticPage(staticBoardsPage(devices, sensors));
    const link = `http://127.0.0.1:${hub.http.port}/#token=${hub.apiToken.token}`;
    const pick = () => ids[Math.floor(Math.random() * ids.length)]?.id ?? '';
    // Warm-up: the browser's own start, the hub's first requests.
    await openStatic(browser, staticPage.url, pick());
    await openDashboard(browser, link, ids.at(-1)?.id ?? '');
    const dashboard: DashboardLoad[] = [];
    const baseline: StaticLoad[] = [];
    for (let i = 0; i < LOADS; i++) {
      const board = pick();
      baseline.push(await openStatic(browser, staticPage.url, board));
      dashboard.push(await openDashboard(browser, link, board));
    }
    return { dashboard, baseline };
  } finally {
    await staticPage?.close();
    for (const swarm of [reading, quiet]) {
      await swarm.call('close').catch(() => undefined);
      swarm.child.kill();
    }
    await hub.close();
    fs.rmSync(data, { recursive: true, force: true });
  }
}

function bundleSize(): { files: Array<{ name: string; raw: number; gzipped: number }>; total: number } {
  const page = fs.readFileSync(path.join(BUILT_DASHBOARD_DIR, 'index.html'));
  const assets = [...page.toString().matchAll(/\/assets\/([^"]+)/g)].map((m) => m[1] ?? '');
  const files = [{ name: 'index.html', body: page }, ...assets.map((a) => ({ name: a, body: fs.readFileSync(path.join(BUILT_DASHBOARD_DIR, 'assets', a)) }))].map(
    ({ name, body }) => ({ name, raw: body.length, gzipped: gzipSync(body, { level: 9 }).length }),
  );
  return { files, total: files.reduce((sum, f) => sum + f.gzipped, 0) };
}

function printTable(title: string, rows: string[][]): void {
  console.log(`\n${title}`);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows) console.log(`  ${r.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')}`);
}

async function main(): Promise<void> {
  const browser = await launchChromium();
  console.log(`tether web bench — Chromium ${browser.version()}, node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores; ${LOADS} loads per size, medians`);
  const size = bundleSize();
  console.log('\ndashboard download (what the hub serves, gzip level 9):');
  for (const f of size.files) console.log(`  ${f.name.padEnd(22)} ${(f.raw / 1024).toFixed(1).padStart(6)} KB  ${(f.gzipped / 1024).toFixed(1).padStart(5)} KB gzipped`);
  console.log(`  total ${(size.total / 1024).toFixed(1)} KB gzipped`);

  const load = [['boards', 'baseline: static table shown', 'list shown', 'interactive', 'interactive / baseline', 'worst interactive', 'goal']];
  const search = [['boards', 'keys', 'baseline: key echoed p50 / p95', 'search p50 / p95', 'p95 / baseline p95', 'worst', 'goal']];
  const live = [['boards', 'stream messages/s', 'list redraws/s', 'frames/s', 'redraws per message', 'rows in the DOM (of all)', 'goal']];
  try {
    for (const boards of SIZES) {
      let result: Awaited<ReturnType<typeof scenario>>;
      try {
        result = await scenario(browser, boards);
      } catch (err) {
        console.log(`${boards} boards: not measured: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      const { dashboard, baseline } = result;
      const base = median(baseline.map((b) => b.shown));
      const interactive = median(dashboard.map((l) => l.interactive));
      const goal = GOALS.interactiveMs.get(boards) ?? NaN;
      load.push([
        String(boards),
        ms(base),
        ms(median(dashboard.map((l) => l.listShown))),
        ms(interactive),
        (interactive / base).toFixed(2),
        ms(Math.max(...dashboard.map((l) => l.interactive))),
        `≤ ${ms(goal)}: ${verdict(interactive <= goal)}`,
      ]);

      const keys = dashboard.flatMap((l) => l.keys);
      const baseKeys = baseline.flatMap((b) => b.keys);
      const p95 = quantile(keys, 0.95);
      search.push([
        String(boards),
        String(keys.length),
        `${ms(median(baseKeys))} / ${ms(quantile(baseKeys, 0.95))}`,
        `${ms(median(keys))} / ${ms(p95)}`,
        (p95 / quantile(baseKeys, 0.95)).toFixed(2),
        ms(Math.max(...keys)),
        `p95 ≤ ${ms(GOALS.searchMs)}: ${verdict(p95 <= GOALS.searchMs)}`,
      ]);

      const sum = (f: (l: DashboardLoad['live']) => number) => dashboard.reduce((n, l) => n + f(l.live), 0);
      const seconds = sum((l) => l.seconds);
      const [messages, redraws, frames] = [sum((l) => l.messages), sum((l) => l.redraws), sum((l) => l.frames)];
      const rows = Math.max(...dashboard.map((l) => l.live.rows));
      const coalesced = redraws <= frames && redraws < messages;
      live.push([
        String(boards),
        (messages / seconds).toFixed(0),
        (redraws / seconds).toFixed(0),
        (frames / seconds).toFixed(0),
        (redraws / messages).toFixed(3),
        `${rows} of ${boards}`,
        `≤ 1 redraw a frame, fewer than messages: ${verdict(coalesced)}; rows ≤ ${GOALS.rowsInDom}: ${verdict(rows <= GOALS.rowsInDom)}`,
      ]);
    }
  } finally {
    await browser.close();
  }
  printTable('load, from the start of navigation (fresh browser context each load; baseline: the same boards as a static table, no script):', load);
  printTable(`search, each key from its keydown to the list showing the box's text on screen (keys ${KEY_DELAY_MS} ms apart; baseline: the same keys in the static page's search box):`, search);
  printTable(`live, ${LIVE_WINDOW_MS / 1000} s per load with the whole list shown and readings streaming (summed over the loads):`, live);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
