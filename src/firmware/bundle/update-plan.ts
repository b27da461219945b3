// Which of a firmware's files a board needs, from the board's own list of its files (op "list").
import type { Firmware, FirmwareFile } from './firmware-folder.js';
import type { ManifestEntry } from './manifest.js';

/** The folder the release owns on the board: its files that a release no longer has are deleted. */
export const OWNED_FOLDER = 'tether/';

export interface UpdatePlan {
  /** The release's files whose size or SHA-256 differs from the board's (or that it lacks). */
  send: FirmwareFile[];
  /** Files under tether/ on the board that the release does not have. */
  delete: string[];
  /** The release's files the board already holds as they are. */
  same: number;
}

/**
 * What to send, from the board's own list of files (op "list"). Only tether/ is the release's
 * to prune: other files on the board (main.py aside, the user's own modules) stay. Paths are
 * compared without case, as the board's FAT file system would.
 */
export function planUpdate(firmware: Firmware, board: readonly ManifestEntry[]): UpdatePlan {
  const onBoard = new Map(board.map((f) => [f.path.toLowerCase(), f]));
  const inRelease = new Set(firmware.files.map((f) => f.path.toLowerCase()));
  const send = firmware.files.filter((f) => {
    const there = onBoard.get(f.path.toLowerCase());
    return there === undefined || there.path !== f.path || there.size !== f.size || there.sha256 !== f.sha256;
  });
  const deleted = board
    .filter((f) => f.path.startsWith(OWNED_FOLDER) && !inRelease.has(f.path.toLowerCase()))
    .map((f) => f.path)
    .sort();
  return { send, delete: deleted, same: firmware.files.length - send.length };
}

/** Every file of the firmware: for a board whose firmware cannot list its files. */
export function planEverything(firmware: Firmware): UpdatePlan {
  return { send: firmware.files, delete: [], same: 0 };
}
