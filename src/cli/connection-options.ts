// Options shared by the commands that talk to a board (send, watch): TLS, token, timeout.
import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import type { Command } from 'commander';
import { DEFAULT_TIMEOUT_MS, type ConnectOptions } from '../client/index.js';
import { parseMilliseconds } from './arguments.js';
import { CliFailure } from './context.js';
import { BOARD_TOKEN, addTokenOptions, resolveToken } from './token-options.js';

export interface ConnectionFlags {
  tls?: boolean;
  ca?: string;
  insecure?: boolean;
  plainAuth?: boolean;
  token?: string;
  tokenFile?: string;
  timeout: number;
}

/** Options that take a value, so that argv pre-scanning skips the value (see markCommandGroups). */
export const VALUE_OPTIONS: ReadonlySet<string> = new Set(['--ca', '--token', '--token-file', '--timeout']);

export function addConnectionOptions(command: Command): Command {
  command
    .option('--tls', "use TLS; the board's certificate is verified as Node verifies any server")
    .option('--ca <file>', "trust this CA or self-signed board certificate (PEM file); implies --tls")
    .option('--insecure', 'use TLS without verifying the certificate (trusted networks only); implies --tls')
    .option('--plain-auth', 'send the token in clear (auth {token}), for boards that do not know challenge and response; trusted networks only');
  return addTokenOptions(command, BOARD_TOKEN).option('--timeout <ms>', 'how long to wait for the connection and for each reply', parseMilliseconds, DEFAULT_TIMEOUT_MS);
}

export async function toConnectOptions(
  host: string,
  port: number,
  flags: ConnectionFlags,
  warn: (message: string) => void,
): Promise<ConnectOptions> {
  let tls: boolean | ConnectionOptions = flags.tls === true;
  if (flags.ca !== undefined) {
    try {
      tls = { ca: await readFile(flags.ca) };
    } catch (err) {
      throw new CliFailure(`cannot read the --ca file ${flags.ca} (${(err as NodeJS.ErrnoException).code ?? String(err)}); give the board's certificate as a PEM file`);
    }
  }
  if (flags.insecure === true) {
    warn("--insecure: the board's TLS certificate is not checked, so anyone on the network path could pose as the board; prefer --ca FILE");
    tls = { ...(typeof tls === 'object' ? tls : {}), rejectUnauthorized: false };
  }
  const token = resolveToken(flags, BOARD_TOKEN, warn);
  return {
    host,
    port,
    tls,
    ...(flags.plainAuth === true ? { auth: 'plain' as const } : {}),
    timeoutMs: flags.timeout,
    connectTimeoutMs: flags.timeout,
    ...(token === undefined ? {} : { token }),
  };
}
