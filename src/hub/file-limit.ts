// Each linked board holds one of the hub's file descriptors. A connection beyond the process's
// limit is accepted by the kernel and closed at once by libuv without a word to the hub, so the
// board just sees its link refused again and again: the hub says so at start instead.
import { readFileSync } from 'node:fs';

/** Descriptors the hub needs besides its boards' links: the store, HTTP clients, handshakes in flight. */
export const FILES_BESIDES_BOARDS = 512;

/** This process's limit of open files (soft, hard), from /proc; undefined where there is none. */
export function processFileLimits(): { soft: number; hard: number } | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (m === null) return undefined;
  const n = (v: string | undefined) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: n(m[1]), hard: n(m[2]) };
}

/** The warning to log when `boards` links would not fit under the soft limit `limit`; undefined when they do. */
export function fileLimitWarning(boards: number, limit: number | undefined): string | undefined {
  const need = boards + FILES_BESIDES_BOARDS;
  if (limit === undefined || limit >= need) return undefined;
  return (
    `${boards} boards are registered, but this process may open only ${limit} files and each linked board holds one: ` +
    `boards beyond about ${Math.max(0, limit - FILES_BESIDES_BOARDS)} will have their links closed at once. Raise the hub's open-file limit to at least ${need} ` +
    '(ulimit -n before `tether hub`, or LimitNOFILE= in its systemd unit)'
  );
}
