// The Updates page in a real browser (Debian's Chromium through playwright-core) against a hub in
// this process with three boards running the real firmware under CPython across real resets (as
// test/firmware/rollout-e2e.test.ts): a good release started from the page in two waves, watched
// live to the end; a broken one that the first board rolls back, which stops the rollout before
// its second wave, on a phone-sized screen; and a rollout cancelled from the page, which a read
// token may watch but not start or cancel. One hub and one set of boards serve every case.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ReleaseStore } from '../../src/hub/store/releases.js';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from '../support/browser.js';
import { otaBoardConfig, startBootLoopBoard, testReleases, type BootLoopBoard } from '../support/boot-loop-board.js';
import { eventually, startTestHub, type TestHub } from '../support/test-hub.js';

const BOARD_CONFIG = otaBoardConfig('rollout', 'updates page board');
const BOARDS = ['alpha', 'bravo', 'charlie'];
/** A phone's screen: the page must not scroll sideways on it. */
const PHONE = { width: 390, height: 844 };

/** What the rollout page shows of each board, read at one moment. */
interface Seen {
  state: string;
  /** The sentence that says where the rollout is. */
  status: string;
  boards: Array<{ device: string; state: string; phase: string; versions: string; progress: { value: number; max: number; label: string | null } | null; error: string | null }>;
}

/** Reads what the rollout page shows (a script: the tests are compiled without the DOM's types). */
const SEEN = `(() => {
  const page = document.querySelector('[data-rollout-page]');
  if (page === null) return undefined;
  return {
    state: page.getAttribute('data-state') ?? '',
    status: page.querySelector('.rollout-progress')?.textContent ?? '',
    boards: [...page.querySelectorAll('[data-rollout-board]')].map((li) => {
      const bar = li.querySelector('progress');
      return {
        device: li.getAttribute('data-rollout-board') ?? '',
        state: li.getAttribute('data-state') ?? '',
        phase: li.getAttribute('data-phase') ?? '',
        versions: (li.querySelector('[data-versions]')?.textContent ?? '').replace(/\\s+/g, ' ').trim(),
        progress: bar === null ? null : { value: bar.value, max: bar.max, label: bar.getAttribute('aria-label') },
        error: li.querySelector('[data-error-code]')?.getAttribute('data-error-code') ?? null,
      };
    }),
  };
})()`;

const seenOnPage = (page: Page): Promise<Seen | undefined> => page.evaluate<Seen | undefined>(SEEN);

/** Waits for the focus to be on the control whose text is `text`. */
const focusOn = (page: Page, text: string): Promise<true> =>
  eventually(async () => ((await page.evaluate<string>("document.activeElement?.textContent ?? ''")) === text ? true : undefined), `the focus on ${text}`, 5000);

/** Whether the page scrolls sideways. */
const scrollsSideways = (page: Page): Promise<boolean> => page.evaluate<boolean>('document.documentElement.scrollWidth > document.documentElement.clientWidth');

describe('web dashboard: firmware updates', { skip: SKIP_WITHOUT_CHROMIUM, timeout: 400_000 }, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'tether-updates-web-'));
  let browser: Browser;
  let hub: TestHub;
  const boards = new Map<string, BootLoopBoard>();
  const contexts: BrowserContext[] = [];

  /** A page signed in with `token` (the admin token by default), at `viewport`. */
  const openPage = async (viewport?: { width: number; height: number }, token = hub.apiToken.token): Promise<Page> => {
    const context = await browser.newContext(viewport !== undefined ? { viewport } : {});
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${hub.http.port}/#token=${token}`);
    await page.locator('tr[data-board="alpha"][data-online="true"]').waitFor({ timeout: 20_000 });
    return page;
  };
  /** Starts a rollout from the form: `version` to `ids` (checked top to bottom), first wave of `waveSize`. */
  const startFromForm = async (page: Page, version: string, ids: string[], waveSize: number): Promise<number> => {
    await page.getByRole('link', { name: 'Updates' }).click();
    await page.getByRole('button', { name: 'New rollout' }).click();
    const form = page.locator('form.rollout-form');
    await form.getByLabel('Release').selectOption(version);
    for (const id of ids) await form.getByRole('checkbox', { name: new RegExp(`^${id}\\b`) }).check();
    await form.getByLabel('First wave, boards').fill(String(waveSize));
    await form.getByRole('button', { name: 'Start rollout' }).click();
    await page.waitForURL(/#\/updates\/\d+$/, { timeout: 10_000 });
    return Number(/(\d+)$/.exec(page.url())?.[1]);
  };
  const consoles = () => [...boards].map(([id, b]) => `--- ${id} ---\n${b.stderr()}`).join('\n');

  before(async () => {
    browser = await launchChromium();
    hub = await startTestHub({ data: join(scratch, 'hub') });
    // As the OTA tests' good and broken releases, but of two versions: one hub keeps both.
    const releases = new ReleaseStore(hub.data);
    const { good, broken } = testReleases(scratch, { good: '0.1.1', broken: '0.1.2' });
    await releases.add(good);
    await releases.add(broken);
    for (const id of BOARDS) {
      const { token } = await hub.store.addDevice(id);
      const args = ['--hub', `127.0.0.1:${hub.link.port}`, '--id', id, '--token', token, '--keepalive-ms', '200', '--no-listen'];
      boards.set(id, await startBootLoopBoard(scratch, id, BOARD_CONFIG, args));
    }
    // Registered, never linked: a rollout to it waits for its link until it is cancelled.
    await hub.store.addDevice('delta');
    await eventually(() => (BOARDS.every((id) => hub.facade.device(id)?.online === true) ? true : undefined), 'every board linked to the hub', 20_000);
  }, { timeout: 120_000 });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    for (const board of boards.values()) await board.close();
    await hub?.close();
    rmSync(scratch, { recursive: true, force: true });
  }, { timeout: 60_000 });

  test('a good release in two waves from the page: wave 1 updating with its progress while wave 2 waits, then all three confirmed on the new version', { timeout: 180_000 }, async () => {
    const page = await openPage();
    // Each board's firmware shows where the boards are picked.
    await page.getByRole('link', { name: 'Updates' }).click();
    await page.getByRole('button', { name: 'New rollout' }).click();
    await page.locator('form.rollout-form [data-firmware]').filter({ hasText: 'tether-mpy 0.1.0' }).nth(2).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Close' }).click();

    const id = await startFromForm(page, '0.1.1', BOARDS, 1);
    // Seen at one moment: alpha updating with its upload's progress, bravo and charlie waiting.
    const running = await eventually(
      () =>
        seenOnPage(page).then((seen) => {
          const alpha = seen?.boards.find((b) => b.device === 'alpha');
          return alpha?.state === 'updating' && alpha.progress !== null && alpha.progress.value > 0 ? seen : undefined;
        }),
      'alpha updating with progress on the page',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${consoles()}`, { cause: err });
    });
    assert.equal(running?.state, 'running');
    const alpha = running?.boards.find((b) => b.device === 'alpha');
    assert.ok(alpha?.progress !== null && alpha?.progress !== undefined && alpha.progress.max > 0 && alpha.progress.value <= alpha.progress.max, JSON.stringify(running));
    assert.equal(alpha.progress.label, `Upload to ${hub.facade.device('alpha')?.name}`, 'the bar is named after the board');
    assert.deepEqual(
      running?.boards.filter((b) => b.device !== 'alpha').map((b) => [b.device, b.state, b.progress]),
      [
        ['bravo', 'waiting', null],
        ['charlie', 'waiting', null],
      ],
      'wave 2 waits while wave 1 runs',
    );
    assert.match(running?.status ?? '', /^Wave 1 is under way; wave 2 \(2 boards\) waits until each board of wave 1 confirmed 0\.1\.1\.$/);

    await page.locator(`[data-rollout-page="${id}"][data-state="done"]`).waitFor({ timeout: 150_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${consoles()}`, { cause: err });
    });
    const done = await seenOnPage(page);
    assert.ok(done !== undefined);
    assert.deepEqual(
      done.boards.map((b) => [b.device, b.state, b.versions, b.progress !== null && b.progress.value === b.progress.max, b.error]),
      BOARDS.map((d) => [d, 'confirmed', '0.1.0 → 0.1.1', true, null]),
    );
    await page.getByRole('status').filter({ hasText: 'Done: every board runs 0.1.1' }).waitFor({ timeout: 5000 });
    // The boards list shows the new version once each board linked again with it.
    await page.getByRole('link', { name: 'Boards' }).click();
    for (const d of BOARDS) await page.locator(`tr[data-board="${d}"]`).filter({ hasText: 'tether-mpy 0.1.1' }).waitFor({ timeout: 20_000 });
    // The list of rollouts has it, done.
    await page.getByRole('link', { name: 'Updates' }).click();
    await page.locator(`li[data-rollout="${id}"][data-state="done"]`).waitFor({ timeout: 5000 });
    // A board's events log says it in words.
    await page.evaluate("location.hash = '#/board/alpha'");
    for (const line of [`in rollout ${id} of 0.1.1 (wave 1), started by api-token`, `rollout ${id} of 0.1.1: confirmed`, `rollout ${id} of 0.1.1 ended done`]) {
      await page.locator('.events li').filter({ hasText: line }).waitFor({ timeout: 10_000 });
    }
  });

  test('a broken release on a phone: alpha rolls it back, the page shows the rollout stopped by alpha with its reason, and bravo and charlie skipped, never started', { timeout: 180_000 }, async (t) => {
    const page = await openPage(PHONE);
    // What the boards run now (0.1.1 after the first case): what they keep.
    const held = /^tether-mpy (\S+)$/.exec(hub.facade.device('alpha')?.firmware ?? '')?.[1] ?? '?';
    const id = await startFromForm(page, '0.1.2', BOARDS, 1);
    assert.equal(await scrollsSideways(page), false, 'the rollout page fits a phone');
    await page.locator(`[data-rollout-page="${id}"][data-state="stopped"]`).waitFor({ timeout: 150_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${consoles()}`, { cause: err });
    });
    const stopped = await seenOnPage(page);
    assert.ok(stopped !== undefined);
    assert.deepEqual(
      stopped.boards.map((b) => [b.device, b.state, b.error, b.progress !== null]),
      [
        ['alpha', 'failed', 'rolled_back', true],
        ['bravo', 'skipped', null, false],
        ['charlie', 'skipped', null, false],
      ],
    );
    assert.equal(stopped.boards[0]?.versions, `${held} → ${held}`, 'alpha runs what it ran held');
    assert.deepEqual(
      stopped.boards.slice(1).map((b) => b.versions),
      ['— → —', '— → —'],
      'bravo and charlie never started',
    );
    const reason = page.locator('.rollout-progress');
    assert.equal(await reason.getAttribute('data-reason-device'), 'alpha');
    assert.equal(await reason.getAttribute('data-reason-code'), 'rolled_back');
    assert.match((await reason.textContent()) ?? '', new RegExp(`^Stopped by alpha: rolled_back: .*rolled back to ${held.replaceAll('.', '\\.')}.*No board started after it\\.$`));
    assert.equal(await scrollsSideways(page), false, 'the stopped rollout fits a phone');
    const shot = join(tmpdir(), `tether-rollout-${PHONE.width}x${PHONE.height}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    await page.getByRole('link', { name: 'Updates', exact: true }).first().click();
    await page.locator(`li[data-rollout="${id}"][data-state="stopped"]`).filter({ hasText: 'Stopped by alpha' }).waitFor({ timeout: 5000 });
    assert.equal(await scrollsSideways(page), false, 'the list of rollouts fits a phone');
    await page.getByRole('button', { name: 'New rollout' }).click();
    await page.locator('form.rollout-form [data-firmware]').nth(2).waitFor({ timeout: 5000 });
    assert.equal(await scrollsSideways(page), false, 'the start form fits a phone');
    const formShot = join(tmpdir(), `tether-rollout-form-${PHONE.width}x${PHONE.height}.png`);
    await page.screenshot({ path: formShot, fullPage: true });
    t.diagnostic(`screenshot: ${formShot}`);
    for (const d of BOARDS) assert.equal(hub.facade.device(d)?.firmware, `tether-mpy ${held}`, `${d} still runs ${held}`);
  });

  test('cancelled from the page after a confirmation; a read token watches it without start or cancel controls', { timeout: 60_000 }, async () => {
    const page = await openPage();
    const id = await startFromForm(page, '0.1.1', ['delta'], 1);
    await page.locator('[data-rollout-board="delta"][data-state="updating"][data-phase="connecting"]').waitFor({ timeout: 10_000 });

    const reader = await openPage(undefined, (await hub.store.apiTokens.create('tablet', 'read')).token);
    await reader.goto(`http://127.0.0.1:${hub.http.port}/#/updates/${id}`);
    await reader.locator(`[data-rollout-page="${id}"][data-state="running"]`).waitFor({ timeout: 10_000 });
    assert.equal(await reader.getByRole('button', { name: /Cancel rollout/ }).count(), 0, 'no cancel for a read token');
    await reader.getByRole('link', { name: 'Updates', exact: true }).first().click();
    await reader.locator('[data-read-only]').waitFor({ timeout: 5000 });
    assert.equal(await reader.getByRole('button', { name: 'New rollout' }).count(), 0, 'no start for a read token');

    const opener = page.getByRole('button', { name: 'Cancel rollout…' });
    await opener.click();
    const ask = page.getByRole('alertdialog', { name: `Cancel rollout ${id}?` });
    await ask.waitFor({ timeout: 5000 });
    // The question takes the focus; Escape closes it and gives the focus back, changing nothing.
    await focusOn(page, `Cancel rollout ${id}`);
    await page.keyboard.press('Escape');
    await ask.waitFor({ state: 'detached', timeout: 5000 });
    await focusOn(page, 'Cancel rollout…');
    assert.equal(await page.locator(`[data-rollout-page="${id}"]`).getAttribute('data-state'), 'running');
    // Asked again from the keyboard, Enter confirms it.
    await page.keyboard.press('Enter');
    await ask.waitFor({ timeout: 5000 });
    await focusOn(page, `Cancel rollout ${id}`);
    await page.keyboard.press('Enter');
    await page.locator(`[data-rollout-page="${id}"][data-state="cancelled"]`).waitFor({ timeout: 10_000 });
    await page.locator('[data-rollout-board="delta"][data-state="aborted"]').waitFor({ timeout: 10_000 });
    // The reader's list follows the stream.
    await reader.locator(`li[data-rollout="${id}"][data-state="cancelled"]`).filter({ hasText: 'cancelled by api-token' }).waitFor({ timeout: 10_000 });
    assert.equal((await hub.facade.rollouts()?.get(id))?.state, 'cancelled');
    // A rollout the hub does not have says so, with the hub's words.
    await reader.evaluate("location.hash = '#/updates/999'");
    await reader.getByText('loading rollout 999: no rollout 999').waitFor({ timeout: 10_000 });
  });
});
