// The list of files an update declares (the `update` action's op "begin", protocol.md §5.19)
// and its digest, which the board reports back while it stages the update.
import { createHash } from 'node:crypto';

/** One entry of op "begin"'s `files`. */
export type ManifestEntry = {
  /** Relative to the firmware root, `/`-separated: the path on the board. */
  path: string;
  size: number;
  sha256: string;
};

export function manifestOf(files: readonly ManifestEntry[]): ManifestEntry[] {
  return files.map(({ path, size, sha256 }) => ({ path, size, sha256 }));
}

/**
 * SHA-256 of "path\nsize\nsha256\n" per file in begin's order, then "delete path\n" per file the
 * update removes, as the board reports it in op "status" (`staging.manifest`): equal digests
 * mean the board is staging this very update. commit's MAC covers it, deletions included.
 */
export function manifestDigest(files: readonly ManifestEntry[], deleted: readonly string[] = []): string {
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.path}\n${f.size}\n${f.sha256}\n`);
  for (const path of deleted) hash.update(`delete ${path}\n`);
  return hash.digest('hex');
}
