// Opens the store a hub config names: SQLite in the data folder by default, PostgreSQL when the
// config gives `store.url`. PostgreSQL's client is loaded only then, so a hub on SQLite never
// loads it.
import path from 'node:path';
import type { HubConfig } from '../config.js';
import type { HubStore } from './port.js';
import { SqliteStore, type SqliteOptions } from './sqlite/sqlite-store.js';

/** The SQLite file in a data folder. */
export const SQLITE_FILE = 'tether.db';

/** `backgroundCheckpoint` is SQLite's alone (the running hub's; a one-off command needs no worker). */
export async function openConfiguredStore(config: Pick<HubConfig, 'data' | 'store'>, options: SqliteOptions = {}): Promise<HubStore> {
  if (config.store?.url !== undefined) {
    const { PostgresStore } = await import('./postgres/postgres-store.js');
    return PostgresStore.open(config.store.url, options);
  }
  return SqliteStore.open(path.join(config.data, SQLITE_FILE), options);
}
