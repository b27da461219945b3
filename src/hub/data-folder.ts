// The hub's data folder holds the API token and every reading and event the boards sent, so it
// is private to the hub's user: made 0700, and a folder someone else can read is reported.
import fs from 'node:fs';
import type { Logger } from '../device/logger.js';

/** Makes `dir` (0700) when it is missing; warns when an existing one is open to group or others. */
export function ensureDataFolder(dir: string, logger?: Pick<Logger, 'warn'>): void {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (stat === undefined) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode goes through the umask, which only narrows it; chmod makes it exact.
    fs.chmodSync(dir, 0o700);
    return;
  }
  if (!stat.isDirectory()) throw new Error(`the hub data folder ${dir} is a file; give a folder (hub config "data" or --data)`);
  // A folder the operator made and shares on purpose is theirs to decide; changing it under
  // them could break a backup job or a group that reads it. Say so instead.
  if ((stat.mode & 0o077) !== 0) {
    logger?.warn(
      `the hub data folder ${dir} can be read by other users (mode ${(stat.mode & 0o777).toString(8)}); it holds the API token and every reading. Run: chmod 700 ${dir}`,
    );
  }
}
