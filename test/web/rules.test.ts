// The rules page in a real browser (Debian's Chromium through playwright-core) against a hub in
// this process with a simulated board linked to it: a rule made in the dashboard fires on the
// board, is edited, disabled and stops; a bad one gets its field's error inline; a restart keeps it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, SKIP_WITHOUT_CHROMIUM } from '../support/browser.js';
import { startLinkedBoard, type LinkedBoard } from '../support/linked-board.js';
import { eventually, startTestHub, type TestHub } from '../support/test-hub.js';

const BOARD = {
  name: 'shed',
  pins: [
    { pin: 4, name: 'button', mode: 'input', pull: 'down' },
    { pin: 15, name: 'relay', mode: 'output', value: 0 },
    { pin: 16, name: 'lamp', mode: 'output', value: 0 },
  ],
};

describe('web dashboard: rules', { skip: SKIP_WITHOUT_CHROMIUM, timeout: 120_000 }, () => {
  let browser: Browser;
  let page: Page;
  let hub: TestHub;
  let board: LinkedBoard;
  let token: string;

  const link = async () => {
    board = await startLinkedBoard({ port: hub.link.port, token, id: 'shed', config: BOARD });
    await eventually(async () => ((await hub.deviceLink('shed'))?.online === true ? true : undefined), 'the board linked', 10_000);
  };
  const signIn = async () => {
    await page.goto('about:blank');
    await page.goto(`http://127.0.0.1:${hub.http.port}/#token=${hub.apiToken.token}`);
    await page.locator('tr[data-board="shed"][data-online="true"]').waitFor({ timeout: 15_000 });
  };
  const level = (pin: number) => board.hardware.gpio.level(pin);
  const untilLevel = (pin: number, value: number, what: string) => eventually(() => (level(pin) === value ? true : undefined), what, 10_000);
  /** A press of the button: low, then high (a rising edge). */
  const press = () => {
    board.hardware.gpio.drive(4, 0);
    board.hardware.gpio.drive(4, 1);
  };
  const firings = async () => (await hub.facade.events({ device: 'shed', type: 'rule_fired', limit: 1000 })).length;

  before(async () => {
    browser = await launchChromium();
    page = await browser.newPage();
    hub = await startTestHub();
    token = (await hub.store.addDevice('shed')).token;
    await link();
  }, { timeout: 60_000 });
  after(async () => {
    await page.close();
    await browser.close();
    await board.close();
    await hub.close();
  }, { timeout: 60_000 });

  test('made in the dashboard with pins by name, a rule fires on the board (events log, lease); edited, it drives the new pin; disabled, it stops; a restart keeps it', { timeout: 120_000 }, async () => {
    await signIn();
    await page.getByRole('link', { name: 'Rules' }).click();
    await page.getByText('The hub runs no rules').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'New rule' }).click();
    const form = page.locator('form.rule-form');
    await form.getByLabel('Name').fill('button-relay');
    await form.getByLabel('Kind').selectOption('input');
    // The board fields of When and Then: the first is When's.
    await form.getByLabel('Board').first().fill('shed');
    await form.getByLabel('Pin', { exact: true }).selectOption({ label: 'button (pin 4) · input' });
    await form.getByLabel('Edge').selectOption('rising');
    await form.getByLabel('Action').selectOption('on');
    await form.getByLabel('Board').nth(1).fill('shed');
    await form.getByLabel('Output pin').selectOption({ label: 'relay (pin 15) · output' });

    // A lease of 0: the hub's own check, shown beside the lease field.
    const lease = form.getByLabel('Lease, seconds');
    await lease.fill('0');
    await form.getByRole('button', { name: 'Create rule' }).click();
    const leaseError = form.locator('[data-error-for="lease"]');
    await leaseError.waitFor({ timeout: 10_000 });
    assert.equal(await leaseError.innerText(), 'expected a number of seconds > 0');
    assert.equal(await lease.getAttribute('aria-invalid'), 'true');
    assert.match((await lease.getAttribute('aria-describedby')) ?? '', new RegExp(`\\b${(await leaseError.getAttribute('id')) ?? 'missing'}\\b`), 'the field names its error for screen readers');
    assert.deepEqual(hub.facade.rules(), [], 'nothing was stored');

    await lease.fill('3');
    await form.getByRole('button', { name: 'Create rule' }).click();
    const row = page.locator('tr[data-rule="button-relay"]');
    await row.waitFor({ timeout: 10_000 });
    assert.equal(await form.count(), 0, 'the form closed');
    const what = await row.locator('td.what').innerText();
    assert.match(what, /button \(pin 4\) of shed/);
    assert.match(what, /relay \(pin 15\) of shed/);

    press();
    await untilLevel(15, 1, 'the rule turned the relay on');
    await row.locator('td.fired', { hasText: /^1$/ }).waitFor({ timeout: 10_000 });
    await page.goto(`http://127.0.0.1:${hub.http.port}/#/board/shed`);
    await page.locator('.events li[data-type="rule_fired"]').filter({ hasText: 'button-relay' }).first().waitFor({ timeout: 10_000 });
    // The change is in the log in words: which rule, what was done, by which token.
    await page.locator('.events li[data-type="rule_changed"]').filter({ hasText: /rule button-relay created by api-token$/ }).first().waitFor({ timeout: 10_000 });
    await page.locator('li[data-pin="15"]').getByRole('timer').waitFor({ timeout: 10_000 });
    await untilLevel(15, 0, 'the relay back at safe once its lease of 3 s ended');

    // Edited: now the lamp, with a shorter lease.
    await page.goto(`http://127.0.0.1:${hub.http.port}/#/rules`);
    await page.getByRole('button', { name: 'Edit button-relay' }).click();
    await form.getByLabel('Output pin').selectOption({ label: 'lamp (pin 16) · output' });
    await form.getByLabel('Lease, seconds').fill('2');
    await form.getByRole('button', { name: 'Save rule' }).click();
    await row.locator('td.what', { hasText: 'lamp (pin 16) of shed' }).waitFor({ timeout: 10_000 });
    press();
    await untilLevel(16, 1, 'the edited rule turned the lamp on');
    assert.equal(level(15), 0, 'and left the relay alone');
    await untilLevel(16, 0, 'the lamp back at safe after its lease');

    // The dry run counts the presses stored in the last hour.
    const rising = (await hub.facade.events({ device: 'shed', type: 'edge', limit: 1000 })).filter((e) => e.data.pin === 4 && e.data.value === 1).length;
    await page.getByRole('button', { name: /^Dry run of button-relay/ }).click();
    const dry = page.locator('section[data-dry-run="button-relay"]');
    await dry.waitFor({ timeout: 10_000 });
    assert.equal(await dry.getAttribute('data-fired'), String(rising));
    assert.match(await dry.innerText(), /set lamp \(pin 16\) of shed to on for 2 s/);
    await dry.getByRole('button', { name: 'Close the dry run' }).click();

    // Disabled: the press does nothing.
    await page.getByRole('button', { name: 'Disable button-relay' }).click();
    await page.locator('tr[data-rule="button-relay"][data-enabled="false"]').waitFor({ timeout: 10_000 });
    const before = await firings();
    press();
    await eventually(async () => ((await hub.facade.events({ device: 'shed', type: 'edge', limit: 1000 })).filter((e) => e.data.pin === 4 && e.data.value === 1).length > rising ? true : undefined), 'the hub heard the press');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(level(16), 0, 'the disabled rule left the lamp off');
    assert.equal(await firings(), before, 'and did not fire');

    // A restart keeps it, disabled.
    await board.close();
    await hub.close();
    hub = await startTestHub({ data: hub.data });
    await link();
    await signIn();
    await page.goto(`http://127.0.0.1:${hub.http.port}/#/rules`);
    await page.locator('tr[data-rule="button-relay"][data-enabled="false"][data-source="api"]').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Enable button-relay' }).click();
    await page.locator('tr[data-rule="button-relay"][data-enabled="true"]').waitFor({ timeout: 10_000 });
    press();
    await untilLevel(16, 1, 'enabled again after the restart, it acts');
  });

  test('a config file rule is shown read-only, with a note saying so and no edit, disable or delete', { timeout: 60_000 }, async () => {
    await board.close();
    await hub.close();
    const fileRule = { name: 'file-relay', when: { device: 'shed', pin: 4, edge: 'falling' }, then: { device: 'shed', pin: 15, value: 1, lease_s: 2 } };
    hub = await startTestHub({ data: hub.data, config: { rules: [fileRule] } });
    await link();
    await signIn();
    await page.goto(`http://127.0.0.1:${hub.http.port}/#/rules`);
    const row = page.locator('tr[data-rule="file-relay"][data-source="config"]');
    await row.waitFor({ timeout: 10_000 });
    assert.match(await row.locator('td.source').innerText(), /Hub config file \(read-only here\)/);
    assert.equal(await row.getByRole('button', { name: /Edit|Disable|Delete/ }).count(), 0);
    assert.equal(await row.getByRole('button', { name: /^Dry run of file-relay/ }).count(), 1);
    assert.match(await row.locator('td.what').innerText(), /^When button \(pin 4\) of shed falls, set relay \(pin 15\) of shed to 1 for 2 s\.$/);
  });
});
