// The link's certificate when the hub config says `link.tls: auto`: a self-signed one the hub
// makes in its data folder at its first start and reuses after. Boards pin it by fingerprint
// (protocol.md §10.5), so no CA is involved. Node can read X.509 but not write it, and a
// dependency for this alone is not worth it, so the `openssl` tool (in Debian and Raspberry Pi
// OS) makes it; it is run without a shell, and the key is never logged.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../device/logger.js';

export const LINK_CERT_FILE = 'link-cert.pem';
export const LINK_KEY_FILE = 'link-key.pem';
/** 20 years: a board that pins the certificate should not have to be told again. */
const VALID_DAYS = 7305;

export interface LinkCertFiles {
  cert: string;
  key: string;
}

export interface OpensslOptions {
  /** The program to run; default `openssl`, found on PATH. */
  command?: string;
  /** Its environment (PATH is where it is looked up); default the hub's. */
  env?: NodeJS.ProcessEnv;
}

/** Where `link.tls: auto` keeps the certificate and its key. */
export function linkCertFiles(dataDir: string): LinkCertFiles {
  return { cert: path.join(dataDir, LINK_CERT_FILE), key: path.join(dataDir, LINK_KEY_FILE) };
}

/**
 * The certificate files in `dataDir` (an existing folder, 0700), made first when there are none.
 * `created` is true when this call made them.
 */
export async function ensureLinkCert(dataDir: string, options: OpensslOptions & { logger?: Pick<Logger, 'info'> } = {}): Promise<LinkCertFiles & { created: boolean }> {
  const files = linkCertFiles(dataDir);
  const has = (file: string) => fs.existsSync(file);
  if (has(files.cert)) {
    // A new key would change the fingerprint every board pins: the operator decides that, not the hub.
    if (!has(files.key)) {
      throw new Error(`link.tls auto: ${files.cert} is there but its key ${files.key} is not; put the key back, or delete ${files.cert} so that the hub makes a new pair (then give every board the new fingerprint)`);
    }
    return { ...files, created: false };
  }

  // Made in a private folder next to the final files and moved into place, so that a start that
  // stops half way leaves no certificate without its key.
  const work = fs.mkdtempSync(path.join(dataDir, '.link-cert-'));
  try {
    const made = linkCertFiles(work);
    await runOpenssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', made.key, '-out', made.cert, '-days', String(VALID_DAYS), '-subj', '/CN=tether-hub'], options);
    // openssl follows the umask; the key is the hub's identity on the link.
    fs.chmodSync(made.key, 0o600);
    fs.renameSync(made.key, files.key);
    fs.renameSync(made.cert, files.cert);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  options.logger?.info(`link: made a self-signed certificate for link TLS in ${files.cert} (its key, readable only by this user, in ${files.key})`);
  return { ...files, created: true };
}

function runOpenssl(args: string[], options: OpensslOptions): Promise<void> {
  const command = options.command ?? 'openssl';
  const fix = 'install openssl (apt install openssl), or give link.tls: {cert, key} with PEM files you made';
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...(options.env !== undefined ? { env: options.env } : {}), timeout: 60_000, windowsHide: true }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      const code: unknown = err.code;
      if (code === 'ENOENT') return reject(new Error(`link.tls auto: cannot make the link certificate: the openssl command was not found; ${fix}`, { cause: err }));
      // stderr holds openssl's own reason (and progress dots); its last line says what went wrong.
      const said = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^[.+*-]+$/.test(l)).at(-1);
      const reason = said ?? (err.killed ? 'it did not finish within a minute' : typeof code === 'number' ? `exit code ${code}` : err.message);
      reject(new Error(`link.tls auto: cannot make the link certificate: ${command} failed (${reason}); ${fix}`, { cause: err }));
    });
  });
}
