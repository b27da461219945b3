// The examples under examples/ run as they ship, on one machine: every file is run by a test
// (named below), every address in them is loopback, and every sensor quantity that a hub rule or
// a peer rule names is one that the named board's sensor really gives, through the TypeScript
// driver and, for the firmware's files, through the firmware's driver too.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { SENSOR_DRIVERS } from '../../src/device/drivers/sensors/index.js';
import { REPO_ROOT } from '../support/micropython.js';

const EXAMPLES = join(REPO_ROOT, 'examples');

/** Each example file → the test that runs it (and names the file). */
const RUN_BY: Readonly<Record<string, string>> = {
  'hub.yaml': 'test/examples/van-hub.test.ts',
  // Also run on the firmware, as the Picos they are, by test/examples/van-firmware.test.ts.
  'van-tank.yaml': 'test/examples/van-hub.test.ts',
  'van-cab.yaml': 'test/examples/van-hub.test.ts',
  'van-pi.yaml': 'test/examples/van-hub.test.ts',
  'bench.yaml': 'test/examples/bench.test.ts',
  'peers-rgb-a.yaml': 'test/device/peers.test.ts',
  'peers-rgb-b.yaml': 'test/device/peers.test.ts',
  'firmware/peers-rgb-a.json': 'test/firmware/peers.test.ts',
  'firmware/peers-rgb-b.json': 'test/firmware/peers.test.ts',
};

const exampleFiles = (): string[] =>
  readdirSync(EXAMPLES, { recursive: true, encoding: 'utf8' })
    .filter((f) => ['.yaml', '.yml', '.json'].includes(extname(f)))
    .sort();

type Doc = Record<string, unknown>;
const docOf = (file: string): Doc => {
  const text = readFileSync(join(EXAMPLES, file), 'utf8');
  return (file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as Doc;
};
const list = (value: unknown): Doc[] => (Array.isArray(value) ? (value as Doc[]) : []);

const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Every string under a key that names where to listen or dial: host, address, url. */
function addresses(value: unknown, path: string, found: Array<[string, string]>): Array<[string, string]> {
  if (Array.isArray(value)) value.forEach((v, i) => addresses(v, `${path}[${i}]`, found));
  else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (['host', 'address', 'url'].includes(key) && typeof v === 'string') found.push([`${path}.${key}`, v]);
      else addresses(v, `${path}.${key}`, found);
    }
  }
  return found;
}

/** The quantities the firmware's driver of this id gives (QUANTITIES in firmware/tether/drivers/<id>.py). */
function firmwareQuantities(driver: string): string[] | undefined {
  const file = join(REPO_ROOT, 'firmware', 'tether', 'drivers', `${driver}.py`);
  if (!existsSync(file)) return undefined;
  const line = /^QUANTITIES = \{(.*)\}$/m.exec(readFileSync(file, 'utf8'))?.[1];
  return line === undefined ? undefined : [...line.matchAll(/'([a-z_]+)':/g)].map((m) => m[1] ?? '');
}

test('every example file is run by a test that names it', { timeout: 10_000 }, () => {
  const files = exampleFiles();
  assert.deepEqual(files, Object.keys(RUN_BY).sort(), 'a new example needs a test that runs it, listed in RUN_BY');
  for (const [file, testFile] of Object.entries(RUN_BY)) {
    const name = file.split('/').pop() ?? file;
    assert.ok(readFileSync(join(REPO_ROOT, testFile), 'utf8').includes(name), `${testFile} does not name ${name}`);
  }
});

test('every address in the examples is loopback, in their values and in their comments', { timeout: 10_000 }, () => {
  for (const file of exampleFiles()) {
    for (const [path, value] of addresses(docOf(file), file, [])) {
      const host = value.replace(/^[a-z]+:\/\//, '').replace(/:\d+(\/.*)?$/, '');
      assert.ok(LOOPBACK.test(host), `${path}: ${value} is not a loopback address; the example must run on one machine (say in a comment what to change on a LAN)`);
    }
    const text = readFileSync(join(EXAMPLES, file), 'utf8');
    for (const ip of text.match(IPV4) ?? []) {
      // 0.0.0.0 names no machine: the comments offer it as what to listen on for a LAN.
      assert.ok(LOOPBACK.test(ip) || ip === '0.0.0.0', `${file}: ${ip} is an address on some network; use loopback (127.0.0.1)`);
    }
  }
});

test('every quantity a rule or a peer follows is one the sensor of that board gives', { timeout: 10_000 }, () => {
  // The boards of the examples by name, each with its sensors' drivers, and whether it is firmware.
  const boards = new Map<string, { file: string; firmware: boolean; drivers: Map<string, string> }>();
  for (const file of exampleFiles()) {
    const doc = docOf(file);
    if (typeof doc['name'] !== 'string') continue;
    const drivers = new Map(list(doc['sensors']).map((s) => [String(s['name']), String(s['driver'])]));
    boards.set(`${doc['name']}${file.startsWith('firmware/') ? ' (firmware)' : ''}`, { file, firmware: file.startsWith('firmware/'), drivers });
  }
  const checked: string[] = [];
  const check = (where: string, boardKey: string, sensor: unknown, quantity: unknown): void => {
    const board = boards.get(boardKey);
    assert.ok(board !== undefined, `${where}: no example board named ${boardKey}`);
    const driver = board.drivers.get(String(sensor));
    assert.ok(driver !== undefined, `${where}: ${board.file} has no sensor ${String(sensor)}`);
    const quantities = Object.keys(SENSOR_DRIVERS[driver]?.quantities ?? {});
    assert.ok(quantities.includes(String(quantity)), `${where}: ${driver} gives ${quantities.join(', ')}, not ${String(quantity)}`);
    if (board.firmware) {
      const firmware = firmwareQuantities(driver);
      assert.ok(firmware?.includes(String(quantity)), `${where}: the firmware's ${driver} gives ${String(firmware)}, not ${String(quantity)}`);
    }
    checked.push(`${where} → ${boardKey}.${String(sensor)}.${String(quantity)}`);
  };
  for (const file of exampleFiles()) {
    const doc = docOf(file);
    const suffix = file.startsWith('firmware/') ? ' (firmware)' : '';
    list(doc['rules']).forEach((rule, i) => {
      const when = (rule['when'] ?? {}) as Doc;
      if (when['quantity'] !== undefined) check(`${file} rules[${i}]`, String(when['device']), when['sensor'], when['quantity']);
    });
    list(doc['peers']).forEach((peer, i) => {
      list(peer['follow']).forEach((rule, j) => {
        if (rule['sensor'] !== undefined) check(`${file} peers[${i}].follow[${j}]`, `${String(peer['name'])}${suffix}`, rule['sensor'], rule['quantity']);
      });
    });
  }
  // The check above saw the hub's reading rules and both peers files' sensor rules.
  assert.ok(checked.filter((c) => c.startsWith('hub.yaml')).length >= 4, checked.join('\n'));
  assert.ok(checked.some((c) => c.startsWith('firmware/peers-rgb-b.json')), checked.join('\n'));
});
