// A real hub in this process on loopback, with its data in a temp folder, for the hub tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger, type Logger } from '../../src/device/logger.js';
import { parseHubConfig } from '../../src/hub/config.js';
import { startHub, type Hub, type HubOptions } from '../../src/hub/hub.js';
import { SqliteStore } from '../../src/hub/store/sqlite/sqlite-store.js';

export interface TestHubOptions {
  /** Reuse a data folder (a hub restart); default: a new temp folder. */
  data?: string;
  linkPort?: number;
  /** More hub config (rules, telemetry, …), merged over the test defaults. */
  config?: Record<string, unknown>;
  /** How the hub opens its store (fault-injection tests cap it). */
  openStore?: HubOptions['openStore'];
  /** Where the hub logs (default: nowhere). */
  logger?: Logger;
}

export function tempDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tether-hub-test-'));
}

/** A hub as startTestHub starts it. */
export type TestHub = Hub & { data: string };

export async function startTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const data = options.data ?? tempDataDir();
  const config = parseHubConfig(
    {
      data,
      retention_days: 0,
      link: { host: '127.0.0.1', port: options.linkPort ?? 0, keepalive_ms: 200 },
      http: { host: '127.0.0.1', port: 0 },
      ...options.config,
    },
    'test hub',
  );
  const hub = await startHub({ config, logger: options.logger ?? silentLogger, ...(options.openStore !== undefined ? { openStore: options.openStore } : {}) });
  return Object.assign(hub, { data });
}

/** The hub's store as the SQLite store it is by default, for what only SQLite offers (capPages, pageCount). */
export function sqliteStoreOf(hub: Hub): SqliteStore {
  if (!(hub.store instanceof SqliteStore)) throw new Error(`the hub's store is ${hub.store.kind}, not the SQLite store this test needs`);
  return hub.store;
}

/** Registers a board in the store of a hub that is not running (one a test then starts as a process); its token. */
export async function registerInStore(data: string, id: string): Promise<string> {
  const store = SqliteStore.open(path.join(data, 'tether.db'));
  try {
    return (await store.addDevice(id)).token;
  } finally {
    await store.close();
  }
}

/** Polls until `check` returns a value that is not undefined (or throws after timeoutMs). */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
