// `npm run bench:web`: how fast the dashboard is usable, measured in Debian's Chromium on this
// machine, with 10 and with 1,000 boards linked to the hub and sending a reading a second each
// (the fake boards of bench/hub/swarm.ts, in a process of their own).
//
// For each load, in a fresh browser context (nothing cached), from the start of the navigation
// to the dashboard link:
//   list shown   every board's row is on screen (timed inside the page at the frame it happened);
//   interactive  then a search typed into the filter has narrowed the list to one board: the page
//                answers input, not just draws;
// and the baseline, measured in the same run: the same browser opening the hub's
// /api/openapi.json (a plain document from the same server, no script), to its load event.
// Also the dashboard's size: the page, script and stylesheet the browser downloads, gzipped as
// the hub serves them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { SystemClock } from '../src/common/clock.js';
import { silentLogger } from '../src/device/logger.js';
import { BUILT_DASHBOARD_DIR } from '../src/hub/api/dashboard.js';
import { parseHubConfig } from '../src/hub/config.js';
import { startHub } from '../src/hub/hub.js';
import { launchChromium } from '../test/support/browser.js';
import { RpcChild } from './hub/common.js';

const QUICK = process.argv.includes('--quick');
const LOADS = QUICK ? 3 : 7;
const SIZES = [10, 1000];

interface Load {
  listShown: number;
  interactive: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

/** Watches the list from the first frame: the time (ms since navigation start) all rows were on screen. */
const WATCH_LIST = (expected: number) => `
  (function watch() {
    const rows = document.querySelectorAll('tr[data-board]').length;
    if (rows >= ${expected}) { window.__listShown = performance.now(); return; }
    requestAnimationFrame(watch);
  })();`;

/** Types an id into the search box; the time (ms since navigation start) of the frame that shows only that board. */
const TYPE_AND_WAIT = (id: string) => `
  new Promise((resolve) => {
    const input = document.querySelector('input[type="search"]');
    input.value = ${JSON.stringify(id)};
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const check = () => (document.querySelectorAll('tr[data-board]').length === 1 ? resolve(performance.now()) : requestAnimationFrame(check));
    check();
  })`;

async function openDashboard(browser: Browser, link: string, boards: number, probe: string): Promise<Load> {
  // bypassCSP: the hub's policy forbids evaluating strings, which is how the probes get in.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.addInitScript(WATCH_LIST(boards));
    await page.goto(link);
    await page.waitForFunction('window.__listShown !== undefined', undefined, { timeout: 60_000, polling: 50 });
    const interactive = Number(await page.evaluate(TYPE_AND_WAIT(probe)));
    const listShown = await page.evaluate('window.__listShown');
    return { listShown: Number(listShown), interactive };
  } finally {
    await context.close();
  }
}

async function openBaseline(browser: Browser, url: string): Promise<number> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    return Number(await page.evaluate('performance.getEntriesByType("navigation")[0].loadEventEnd'));
  } finally {
    await context.close();
  }
}

async function scenario(browser: Browser, boards: number): Promise<{ loads: Load[]; baseline: number[] }> {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-web-bench-'));
  const config = parseHubConfig({ data, link: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } }, 'bench hub');
  const hub = await startHub({ config, logger: silentLogger, clock: new SystemClock() });
  const swarm = RpcChild.start('swarm', 'swarm.js', []);
  try {
    const ids: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < boards; i++) {
      const id = `board-${String(i).padStart(4, '0')}`;
      ids.push({ id, token: (await hub.store.addDevice(id)).token });
    }
    const linked = await swarm.call<{ ms: number; up: number }>('connect', { port: hub.link.port, boards: ids, concurrency: 100 });
    await swarm.call('readings');
    // Every board has reported a reading, so each row has a value to show.
    await new Promise((r) => setTimeout(r, 2500));
    const online = hub.facade.devices().filter((d) => d.online).length;
    console.log(`\n${boards} boards: ${linked.up} linked in ${ms(linked.ms)}, ${online} online, ${(await hub.facade.latestSensors()).length} sensor series; readings streaming at ~${boards}/s`);
    const base = `http://127.0.0.1:${hub.http.port}/`;
    const link = `${base}#token=${hub.apiToken.token}`;
    const loads: Load[] = [];
    const baseline: number[] = [];
    await openDashboard(browser, link, boards, ids.at(-1)?.id ?? ''); // warm-up: the browser's own start, the hub's first requests
    for (let i = 0; i < LOADS; i++) {
      baseline.push(await openBaseline(browser, `${base}api/openapi.json`));
      loads.push(await openDashboard(browser, link, boards, ids[Math.floor(Math.random() * ids.length)]?.id ?? ''));
    }
    return { loads, baseline };
  } finally {
    await swarm.call('close').catch(() => undefined);
    swarm.child.kill();
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

async function main(): Promise<void> {
  const browser = await launchChromium();
  console.log(`tether web bench — Chromium ${browser.version()}, node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores; ${LOADS} loads per row, medians`);
  const size = bundleSize();
  console.log('\ndashboard download (what the hub serves, gzip level 9):');
  for (const f of size.files) console.log(`  ${f.name.padEnd(22)} ${(f.raw / 1024).toFixed(1).padStart(6)} KB  ${(f.gzipped / 1024).toFixed(1).padStart(5)} KB gzipped`);
  console.log(`  total ${(size.total / 1024).toFixed(1)} KB gzipped`);
  const rows: string[][] = [['boards linked', 'baseline: openapi.json loaded', 'list shown', 'interactive', 'interactive / baseline', 'worst interactive']];
  try {
    for (const boards of SIZES) {
      const { loads, baseline } = await scenario(browser, boards);
      const base = median(baseline);
      const interactive = median(loads.map((l) => l.interactive));
      rows.push([
        String(boards),
        ms(base),
        ms(median(loads.map((l) => l.listShown))),
        ms(interactive),
        (interactive / base).toFixed(1),
        ms(Math.max(...loads.map((l) => l.interactive))),
      ]);
    }
  } finally {
    await browser.close();
  }
  console.log('\nfrom the start of navigation to the dashboard link (fresh browser context each load):');
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows) console.log(`  ${r.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ')}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
