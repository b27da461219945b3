// `tether hub` or `tether demo` as a child process: the ports and the API token come from the
// banner it prints once it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { BIN, ROOT } from '../cli/run-cli.js';
import { eventually } from './test-hub.js';

export interface HubProcess {
  child: ChildProcess;
  linkPort: number;
  httpPort: number;
  apiToken: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  /** Flags for node itself, before bin/tether.js. */
  nodeArgs?: readonly string[];
  /** Run on this CPU alone (taskset), as a hub given one CPU. */
  cpu?: number;
}

export async function spawnHubCli(args: readonly string[], options: SpawnOptions = {}): Promise<HubProcess> {
  const node = [...(options.nodeArgs ?? []), BIN, ...args];
  const [command, ...rest] = options.cpu === undefined ? [process.execPath, ...node] : ['taskset', '-c', String(options.cpu), process.execPath, ...node];
  const child = spawn(command ?? process.execPath, rest, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const banner = await eventually(() => {
    if (child.exitCode !== null) throw new Error(`tether ${args.join(' ')} exited with ${child.exitCode}: ${stderr}`);
    const ports = /boards dial [^:]+:(\d+); API on http:\/\/[^:]+:(\d+)\/api/.exec(stdout);
    // The sign-in link when the token was just made; else the banner names its file.
    const token = /#token=(\S+)/.exec(stdout)?.[1] ?? fileToken(/sign in with the admin token in (\S+);/.exec(stdout)?.[1]);
    return ports && token !== undefined ? { linkPort: Number(ports[1]), httpPort: Number(ports[2]), apiToken: token } : undefined;
  }, `the banner of tether ${args.join(' ')}`, 15_000);
  return { child, ...banner, stdout: () => stdout, stderr: () => stderr, exited };
}

function fileToken(file: string | undefined): string | undefined {
  return file === undefined ? undefined : fs.readFileSync(file, 'utf8').trim();
}

/** A GET on the hub's API with its token; resolves with the parsed JSON body. */
export async function apiGet(hub: Pick<HubProcess, 'httpPort' | 'apiToken'>, route: string): Promise<Record<string, unknown>> {
  const response = await fetch(`http://127.0.0.1:${hub.httpPort}${route}`, { headers: { authorization: `Bearer ${hub.apiToken}` } });
  return (await response.json()) as Record<string, unknown>;
}
