// The hub of examples/hub.yaml as it ships (only its data folder and ports moved: a temp folder
// and free loopback ports), with the Pi's own board of examples/van-pi.yaml that it dials, for
// the tests that link the van's two Picos to it: as simulated boards and as firmware boards.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadBoardConfig } from '../../src/device/config.js';
import { silentLogger } from '../../src/device/logger.js';
import { SimAht10 } from '../../src/device/sim/chips/aht10.js';
import { parseHubConfig } from '../../src/hub/config.js';
import { startHub, type Hub } from '../../src/hub/hub.js';
import { REPO_ROOT } from '../support/micropython.js';
import { startRealTimeSim, type RealTimeSim } from '../support/sim-device.js';
import { eventually, tempDataDir } from '../support/test-hub.js';
import type { RuleView } from '../../src/hub/types.js';

export const exampleFile = (name: string): string => join(REPO_ROOT, 'examples', name);
export const exampleYaml = (name: string): Record<string, unknown> => parseYaml(readFileSync(exampleFile(name), 'utf8')) as Record<string, unknown>;

// Readings come every 2 s from the tank and every 5 s from the Pi (the file's telemetry), so a
// rule may take two intervals to act; a loaded machine may be slower still.
export const WAIT_MS = 20_000;

export interface VanHub {
  hub: Hub;
  /** The Pi's own board (van-pi.yaml), simulated, which the hub dials. */
  pi: RealTimeSim;
  /** Registers a board at the hub: its token. */
  register(id: string): Promise<string>;
  /** Resolves once every board of the van is online at the hub. */
  allOnline(): Promise<void>;
  /** The rules as GET /api/rules shows them, by name. */
  rules(): Promise<Map<string, RuleView>>;
  close(): Promise<void>;
}

export async function startVanHub(): Promise<VanHub> {
  const pi = await startRealTimeSim(await loadBoardConfig(exampleFile('van-pi.yaml')));
  // A hot, damp cabin from the start: the Pi's first reading (one telemetry interval after the
  // hub subscribes) already acts, so a test of the cabin rules waits for only one more.
  pi.hardware.chip(1, 0x38, SimAht10).set({ temperature: 33, humidity: 80 });
  const raw = exampleYaml('hub.yaml');
  const [piDevice, ...others] = raw['devices'] as Array<Record<string, unknown>>;
  assert.equal(piDevice?.['address'], '127.0.0.1:12345', 'the hub dials the Pi board on its listen address');
  assert.deepEqual(others, []);
  const config = parseHubConfig(
    {
      ...raw,
      data: tempDataDir(),
      link: { ...(raw['link'] as object), port: 0 },
      http: { ...(raw['http'] as object), port: 0 },
      devices: [{ ...piDevice, address: `127.0.0.1:${pi.device.port}` }],
    },
    'examples/hub.yaml',
  );
  const hub = await startHub({ config, logger: silentLogger });
  return {
    hub,
    pi,
    register: async (id) => (await hub.store.addDevice(id, {})).token,
    allOnline: async () => {
      for (const id of ['van-pi', 'van-tank', 'van-cab']) {
        await eventually(() => (hub.facade.device(id)?.online === true ? true : undefined), `${id} linked to the hub`, WAIT_MS);
      }
    },
    rules: async () => {
      const response = await fetch(`http://127.0.0.1:${hub.http.port}/api/rules`, { headers: { authorization: `Bearer ${hub.apiToken.token}` } });
      const body = (await response.json()) as { rules: RuleView[] };
      return new Map(body.rules.map((r) => [r.name, r]));
    },
    close: async () => {
      await hub.close();
      await pi.close();
    },
  };
}

/** Polls until check() holds, for up to WAIT_MS. */
export const until = (what: string, check: () => boolean | Promise<boolean>): Promise<true> => eventually(async () => ((await check()) ? true : undefined), what, WAIT_MS);
