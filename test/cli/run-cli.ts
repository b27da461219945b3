// Runs bin/tether.js as a child process (asynchronously, so a fake board in this process keeps
// answering) and collects its output and exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/test/cli/. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../../bin/tether.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; bin?: string } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [options.bin ?? BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', TETHER_TOKEN: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, options.timeoutMs ?? 15_000);
}

export function collect(child: ChildProcess, timeoutMs: number): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tether did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface Device {
  child: ChildProcess;
  port: number;
  /** Everything the device has printed on stdout so far. */
  stdout(): string;
  exited: Promise<CliResult>;
}

/**
 * Starts the demo board (or the board of a --config in extraArgs) on a free port and resolves
 * once it prints its listening line. `sim: false` leaves out --sim, so the config's backend runs.
 */
export async function startDevice(extraArgs: readonly string[] = [], options: { sim?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Device> {
  const sim = (options.sim ?? true) ? ['--sim'] : [];
  const child = spawn(process.execPath, [BIN, 'device', ...sim, '--host', '127.0.0.1', '--port', '0', ...extraArgs], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = collect(child, 60_000);
  let seen = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line within 10 s; stdout so far: ${seen}`)), 10_000);
    child.stdout?.on('data', (chunk: string) => {
      seen += chunk;
      const match = /listening on (\S+):(\d+)/.exec(seen);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[2]));
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      void exited.then((r) => reject(new Error(`tether device exited early (code ${r.code}); stdout: ${seen}\nstderr: ${r.stderr}`)));
    });
  });
  return { child, port, exited, stdout: () => seen };
}
