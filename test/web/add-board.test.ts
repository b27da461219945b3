// The dashboard's board registration in a real browser (Debian's Chromium through
// playwright-core) against a hub in this process: a board added from the browser links with the
// config copied from the page; a new token cuts off the old one; removing it unregisters it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from '../support/browser.js';
import { boardFromHubJson, refused, type HubJson, type WatchedBoard } from '../support/board-from-hub-json.js';
import { eventually, startTestHub, type TestHub } from '../support/test-hub.js';

/** Clicks a copy button and answers what the clipboard then holds. */
async function copied(page: Page, button: string): Promise<string> {
  await page.getByRole('button', { name: button }).click();
  await page.getByRole('status').filter({ hasText: 'Copied' }).first().waitFor();
  return page.evaluate<string>('navigator.clipboard.readText()');
}

describe('web dashboard: adding, re-keying and removing a board', { skip: SKIP_WITHOUT_CHROMIUM, timeout: 120_000 }, () => {
  let browser: Browser;
  let hub: TestHub;
  let base: string;
  const boards: WatchedBoard[] = [];
  before(async () => {
    browser = await launchChromium();
    hub = await startTestHub();
    base = `http://127.0.0.1:${hub.http.port}/`;
  }, { timeout: 60_000 });
  after(async () => {
    for (const board of boards) await board.close();
    await hub.close();
    await browser.close();
  }, { timeout: 60_000 });

  const startBoard = async (hubJson: string): Promise<WatchedBoard> => {
    const board = await boardFromHubJson(hubJson);
    boards.push(board);
    return board;
  };

  const signedIn = async (token: string): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    await page.goto(`${base}#token=${token}`);
    await page.locator('.who').waitFor({ timeout: 15_000 });
    return { context, page };
  };

  test('an admin adds a board, copies its config, and the board links with it; a new token cuts off the old one; remove unregisters it', { timeout: 90_000 }, async () => {
    const { context, page } = await signedIn(hub.apiToken.token);
    try {
      await page.getByRole('link', { name: 'Add board' }).click();
      await page.getByLabel('Board id').fill('shed');
      await page.getByLabel('Name').fill('Garden shed');
      await page.getByRole('button', { name: 'Register board' }).click();

      await page.locator('pre#link-hub-json').waitFor({ timeout: 15_000 });
      const hubJson = await copied(page, 'Copy config/hub.json');
      assert.equal(hubJson, await page.locator('pre#link-hub-json').innerText(), 'the copy is the config shown');
      const config = JSON.parse(hubJson) as HubJson;
      assert.deepEqual({ ...config, token: '' }, { host: '127.0.0.1', port: hub.link.port, device_id: 'shed', token: '' });
      assert.equal((await hub.store.keyOf('shed')) !== undefined, true, 'registered at the hub');
      assert.match(await page.locator('pre#link-device-command').innerText(), /^tether device --config board\.yaml --hub 127\.0\.0\.1:\d+ --id shed --token-file shed\.token$/);
      assert.match(await page.locator('pre#link-install-command').innerText(), /^tether install --name shed --hub http:\/\/127\.0\.0\.1:\d+ --hub-data \S+$/);
      assert.equal(await copied(page, 'Copy the token'), config.token);

      const first = await startBoard(hubJson);
      await page.getByRole('link', { name: 'Open Garden shed’s page' }).click();
      await page.locator('[data-board-page="shed"] .status[data-online="true"]').waitFor({ timeout: 15_000 });

      // A new token, confirmed with the keyboard: the confirmation takes the focus.
      await page.getByRole('button', { name: 'New token…' }).click();
      const question = page.getByRole('alertdialog', { name: 'Give shed a new token?' });
      await question.waitFor();
      await page.locator('.confirm button:focus', { hasText: 'Yes, make a new token' }).waitFor({ timeout: 5000 });
      await page.keyboard.press('Enter');
      await page.locator('[data-board-link="shed"] pre#link-hub-json').waitFor({ timeout: 15_000 });
      const rotated = await copied(page, 'Copy config/hub.json');
      assert.notEqual((JSON.parse(rotated) as HubJson).token, config.token, 'a new token');
      await page.locator('[data-board-page="shed"] .status[data-online="false"]').waitFor({ timeout: 15_000 });
      await eventually(() => (refused(first) ? true : undefined), 'the old token refused', 15_000);
      await first.close();
      await startBoard(rotated);
      await page.locator('[data-board-page="shed"] .status[data-online="true"]').waitFor({ timeout: 15_000 });

      // Escape keeps it and gives the focus back; then remove for real.
      await page.getByRole('button', { name: 'Remove board…' }).click();
      await page.getByRole('alertdialog', { name: 'Remove shed from this hub?' }).waitFor();
      await page.locator('.confirm button:focus', { hasText: 'Yes, remove it' }).waitFor({ timeout: 5000 });
      await page.keyboard.press('Escape');
      assert.equal(await page.getByRole('alertdialog').count(), 0);
      await page.locator('button:focus', { hasText: 'Remove board…' }).waitFor({ timeout: 5000 });
      assert.notEqual((await hub.store.getDevice('shed')), undefined, 'cancel removes nothing');
      await page.getByRole('button', { name: 'Remove board…' }).click();
      await page.getByRole('button', { name: 'Yes, remove it' }).click();
      await page.waitForURL(/#\/$/, { timeout: 15_000 });
      await page.getByRole('heading', { name: 'Boards', level: 1 }).waitFor({ timeout: 15_000 });
      await eventually(async () => ((await page.locator('tr[data-board="shed"]').count()) === 0 ? true : undefined), 'shed gone from the list', 15_000);
      assert.equal((await hub.store.getDevice('shed')), undefined, 'unregistered');
      await eventually(async () => ((await hub.deviceLink('shed')) === undefined && boards.at(-1)?.link.state !== 'up' ? true : undefined), 'its link closed');
    } finally {
      await context.close();
    }
  });

  test('an id registered already is refused with its code and what to do; nothing is shown to copy', { timeout: 60_000 }, async () => {
    await hub.store.addDevice('pump');
    const { context, page } = await signedIn(hub.apiToken.token);
    try {
      await page.goto(`${base}#/add`);
      await page.getByLabel('Board id').fill('pump');
      await page.getByRole('button', { name: 'Register board' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor({ timeout: 15_000 });
      const text = await alert.innerText();
      assert.match(text, /conflict/);
      assert.match(text, /pick another id, or give that board a new token on its page/);
      assert.equal(await page.locator('pre#link-hub-json').count(), 0);
    } finally {
      await context.close();
    }
  });

  test('security: read and control tokens are offered no Add board and no registration controls', { timeout: 60_000 }, async () => {
    await hub.store.addDevice('porch');
    for (const scope of ['read', 'control'] as const) {
      const { context, page } = await signedIn((await hub.store.apiTokens.create(`web-${scope}`, scope)).token);
      try {
        await page.locator(`.who[data-scope="${scope}"]`).waitFor();
        assert.equal(await page.getByRole('link', { name: 'Add board' }).count(), 0);
        await page.goto(`${base}#/board/porch`);
        await page.locator('[data-board-page="porch"]').waitFor({ timeout: 15_000 });
        assert.equal(await page.getByRole('button', { name: 'New token…' }).count(), 0);
        assert.equal(await page.getByRole('button', { name: 'Remove board…' }).count(), 0);
        await page.goto(`${base}#/add`);
        await page.getByText('Adding boards needs a token with the admin scope').waitFor();
        assert.equal(await page.getByRole('button', { name: 'Register board' }).count(), 0);
      } finally {
        await context.close();
      }
    }
  });
});
