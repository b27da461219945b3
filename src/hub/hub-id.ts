// The hub's own id: made once, kept in <data>/hub-id, so that what the hub names outside itself
// (Home Assistant's unique_ids, the MQTT client id) stays the same across restarts and upgrades,
// and two hubs on one broker never take each other's names.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const HUB_ID_FILE = 'hub-id';
const HUB_ID = /^[a-z0-9]{6,32}$/;

/** The id in <data>/hub-id, made (12 hex digits) when the file is missing. */
export function ensureHubId(dataDir: string): string {
  const file = path.join(dataDir, HUB_ID_FILE);
  const existing = readHubId(file);
  if (existing !== undefined) return existing;
  const id = randomBytes(6).toString('hex');
  try {
    fs.writeFileSync(file, id + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another hub process on the same folder made it first: its id is the hub's.
    const theirs = (err as NodeJS.ErrnoException).code === 'EEXIST' ? readHubId(file) : undefined;
    if (theirs !== undefined) return theirs;
    throw err;
  }
  return id;
}

function readHubId(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (!HUB_ID.test(text)) throw new Error(`${file} does not hold a hub id (6–32 lowercase letters and digits); delete it and the hub makes a new one — Home Assistant then sees new entities`);
  return text;
}
