// Whether this process may open a device node or sysfs file, worked out from the node's mode,
// owner and group against the user's ids — not with access(2), which says yes to root for
// everything and so could not show what a service running as `pi` would meet.
import { readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';

export interface Identity {
  readonly name: string;
  readonly uid: number;
  /** Primary and supplementary group ids. */
  readonly gids: readonly number[];
}

export interface NodeAccess {
  readonly path: string;
  readonly exists: boolean;
  /** e.g. "crw-rw---- root:gpio"; undefined when missing. */
  readonly shown: string | undefined;
  readonly group: string | undefined;
  readonly readable: boolean;
  readonly writable: boolean;
}

export function currentIdentity(): Identity {
  const info = userInfo();
  const gids = new Set<number>([info.gid, ...(process.getgroups?.() ?? [])]);
  return { name: info.username, uid: info.uid, gids: [...gids] };
}

const tables = new Map<string, Map<number, string>>();

/** Names by id from /etc/passwd or /etc/group (name:x:id:…), read once. */
function nameTable(file: string): Map<number, string> {
  let table = tables.get(file);
  if (table === undefined) {
    table = new Map();
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // A container without the file: names fall back to numbers.
    }
    for (const line of text.split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id)) table.set(Number(id), name);
    }
    tables.set(file, table);
  }
  return table;
}

export function groupName(gid: number): string | undefined {
  return nameTable('/etc/group').get(gid);
}

function userName(uid: number): string {
  return nameTable('/etc/passwd').get(uid) ?? String(uid);
}

export function groupNames(identity: Identity): string[] {
  return identity.gids.map((g) => groupName(g) ?? String(g));
}

export function nodeAccess(path: string, identity: Identity): NodeAccess {
  let st;
  try {
    st = statSync(path);
  } catch {
    return { path, exists: false, shown: undefined, group: undefined, readable: false, writable: false };
  }
  const group = groupName(st.gid) ?? String(st.gid);
  const shift = identity.uid === 0 ? -1 : st.uid === identity.uid ? 6 : identity.gids.includes(st.gid) ? 3 : 0;
  const can = (bit: number): boolean => shift < 0 || ((st.mode >> shift) & bit) !== 0;
  const kind = st.isCharacterDevice() ? 'c' : st.isDirectory() ? 'd' : '-';
  const shown = `${kind}${modeString(st.mode)} ${userName(st.uid)}:${group}`;
  return { path, exists: true, shown, group, readable: can(4), writable: can(2) };
}

function modeString(mode: number): string {
  const bits = 'rwxrwxrwx';
  let out = '';
  for (let i = 0; i < 9; i++) out += (mode >> (8 - i)) & 1 ? bits[i] : '-';
  return out;
}
