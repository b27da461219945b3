// What the hub bench and its child processes share: where things are, how a child is started
// (pinned to a CPU when taskset is there) and a small request/answer protocol over the IPC
// channel, so that each child's figures (CPU, memory) are its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The repository root (this file runs from dist/bench/hub/). */
export const ROOT = join(import.meta.dirname, '..', '..', '..');
/** Compiled helpers live beside this file. */
export const HELPERS = import.meta.dirname;

export interface ChildOptions {
  /** Run on this CPU with taskset; undefined leaves the child where its parent is. */
  cpu?: number | undefined;
  /** Node flags (e.g. --expose-gc). */
  nodeArgs?: string[];
  /** A file descriptor for the child's stderr (its log); default: ignored. */
  stderr?: number;
  env?: NodeJS.ProcessEnv;
  /** Raise the child's soft limit of open files to this (at most the hard limit: see fileLimits). */
  fileLimit?: number;
}

export interface RpcReply {
  rpc: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** A child process that answers calls made over its IPC channel (see serveRpc). */
export class RpcChild {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited: string | undefined;

  private constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.on('message', (m: RpcReply) => {
      const w = this.waiting.get(m.rpc);
      if (w === undefined) return;
      this.waiting.delete(m.rpc);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(`${name}: ${m.error ?? 'failed'}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = `${name} exited (${signal ?? code})`;
      for (const w of this.waiting.values()) w.reject(new Error(this.exited));
      this.waiting.clear();
    });
  }

  static start(name: string, script: string, args: string[], options: ChildOptions = {}): RpcChild {
    const node = [...(options.nodeArgs ?? []), join(HELPERS, script), ...args];
    const pinned = options.cpu === undefined ? [process.execPath, ...node] : ['taskset', '-c', String(options.cpu), process.execPath, ...node];
    // Node cannot raise its own limit: a shell does it and then becomes the child.
    const limited = options.fileLimit === undefined ? pinned : ['sh', '-c', 'ulimit -n "$0" && exec "$@"', String(options.fileLimit), ...pinned];
    const [command = process.execPath, ...rest] = limited;
    const child = spawn(command, rest, {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', options.stderr ?? 'ignore', 'ipc'],
      env: options.env ?? process.env,
    });
    return new RpcChild(child, name);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  call<T>(type: string, args: object = {}): Promise<T> {
    if (this.exited !== undefined) return Promise.reject(new Error(this.exited));
    const rpc = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(rpc, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ rpc, type, args });
    });
  }

  /** Resolves when the process is gone; kills it if it is still there after ms. */
  async stop(ms = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    this.child.kill('SIGTERM');
    await gone;
    clearTimeout(timer);
  }
}

type Handler = (args: Record<string, unknown>) => unknown;

/**
 * In a child: answers the parent's calls with `handlers`. Call it before any await, so that no
 * message arrives before the listener. The child exits when its parent goes away.
 */
export function serveRpc(handlers: Record<string, Handler>): void {
  process.on('message', (m: { rpc: number; type: string; args: Record<string, unknown> }) => {
    const handler = handlers[m.type];
    const answer = (reply: Omit<RpcReply, 'rpc'>) => process.send?.({ rpc: m.rpc, ...reply });
    if (handler === undefined) {
      answer({ ok: false, error: `no call ${m.type}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(m.args))
      .then(
        (result) => answer({ ok: true, result }),
        (err: unknown) => answer({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Prints rows as columns: the first row is the header. */
export function table(rows: ReadonlyArray<readonly string[]>, indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** What the hub process and the swarm report about themselves. */
export interface ProcessStats {
  /** performance.now() in the child. */
  at: number;
  cpu: NodeJS.CpuUsage;
  mem: NodeJS.MemoryUsage;
}

/** CPU use between two reports, as a share of one core. */
export function cpuShare(a: ProcessStats, b: ProcessStats): number {
  const micros = b.cpu.user - a.cpu.user + (b.cpu.system - a.cpu.system);
  return micros / 1000 / (b.at - a.at);
}

export const MB = 1024 * 1024;
