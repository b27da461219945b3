// Runs the firmware under real MicroPython 1.27 (the WebAssembly port, in-process) and its unit
// tests (firmware/tests/mp/test_*.py, through firmware/tests/runner.py) under MicroPython and
// under CPython. Facts about the WebAssembly port that shape this file:
// - `heapsize` is only the first heap: the port adds heap areas on demand (up to 128 MiB each),
//   so a MemoryError never comes; `gc.mem_free()` counts that reserve too.
// - Its GC runs only when JavaScript calls into Python (a new runPython, or asyncio resuming
//   after an await that went back to the event loop), never inside a running Python call: a
//   loop that makes garbage without awaiting grows the heap until it returns.
// - A synchronous Python loop blocks its thread, so the unit tests run in a worker thread that
//   a time limit can end.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, sep } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');
export const FIRMWARE_DIR = join(REPO_ROOT, 'firmware');
export const FIRMWARE_TEST_DIR = join(FIRMWARE_DIR, 'tests', 'mp');
const RUNNER = join(FIRMWARE_DIR, 'tests', 'runner.py');
// Typed as string so TypeScript does not look for declarations the package does not ship.
const MICROPYTHON_PACKAGE: string = '@micropython/micropython-webassembly-pyscript';
const DEFAULT_HEAPSIZE = 192 * 1024;

/** The `skip` option of the tests that run the firmware under CPython: false, or why not. */
export const SKIP_WITHOUT_PYTHON3: false | string = spawnSync('python3', ['--version']).status === 0 ? false : 'python3 is not installed';
const DEFAULT_TIMEOUT_MS = 120_000;

/** The parts of the Emscripten FS used here. */
export interface EmscriptenFS {
  mkdir(path: string): void;
  writeFile(path: string, data: string | Uint8Array): void;
  readFile(path: string, options: { encoding: 'utf8' }): string;
}

/** The object the package's loadMicroPython() resolves to (the parts used here). */
export interface MicroPython {
  FS: EmscriptenFS;
  /** Runs code to the end; throws a PythonError (name 'PythonError', message = traceback). */
  runPython(code: string): unknown;
  /** Like runPython, with top-level await; asyncio is driven by JavaScript timers. */
  runPythonAsync(code: string): Promise<unknown>;
  pyimport(name: string): unknown;
}

interface LoadOptions {
  heapsize: number;
  stdout: (data: Uint8Array) => void;
  stderr: (data: Uint8Array) => void;
  linebuffer: false;
}

export interface FirmwareMicroPython {
  mp: MicroPython;
  /** Runs code and returns what it printed (stdout and stderr, in order). */
  run(code: string): string;
  /**
   * Same, with top-level await. One call at a time: the output is not separated otherwise.
   * Await asyncio.wait_for_ms and the like inside a task (`await asyncio.create_task(main())`):
   * directly at top level it never returns once the coroutine it waits for is done.
   */
  runAsync(code: string): Promise<string>;
}

export interface PythonTestResult {
  /** module.test_name, or the module's name alone when it did not import or got stuck. */
  name: string;
  ok: boolean;
  /** For a failure: the exception, its traceback and what the test printed. */
  message: string;
}

const decoder = new TextDecoder();
let firmwareFilesCache: { path: string; data: Uint8Array }[] | undefined;

/** Every file of firmware/ a board gets, plus the tests and shims (not tests/host: CPython only). */
function firmwareFiles(): { path: string; data: Uint8Array }[] {
  firmwareFilesCache ??= readdirSync(FIRMWARE_DIR, { recursive: true, encoding: 'utf8' })
    .map((f) => f.split(sep).join('/'))
    .filter((f) => !f.startsWith('tests/host/') && !f.split('/').includes('__pycache__') && !f.endsWith('.pyc'))
    .filter((f) => statSync(join(FIRMWARE_DIR, f)).isFile())
    .sort()
    .map((f) => ({ path: f, data: readFileSync(join(FIRMWARE_DIR, f)) }));
  return firmwareFilesCache;
}

/** The firmware test modules (names without .py), sorted. */
export function firmwareTestModules(): string[] {
  return readdirSync(FIRMWARE_TEST_DIR)
    .filter((f) => /^test_\w+\.py$/.test(f))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function boot(heapsize: number, onByte: (byte: number) => void): Promise<MicroPython> {
  const { loadMicroPython } = (await import(MICROPYTHON_PACKAGE)) as {
    loadMicroPython: (options: LoadOptions) => Promise<MicroPython>;
  };
  const sink = (data: Uint8Array) => data.forEach(onByte);
  const mp = await loadMicroPython({ heapsize, stdout: sink, stderr: sink, linebuffer: false });
  const made = new Set<string>(['']);
  const mkdirs = (dir: string) => {
    if (made.has(dir)) return;
    mkdirs(dir.slice(0, Math.max(0, dir.lastIndexOf('/'))));
    mp.FS.mkdir(`/fw/${dir}`);
    made.add(dir);
  };
  mp.FS.mkdir('/fw');
  for (const file of firmwareFiles()) {
    mkdirs(file.path.slice(0, Math.max(0, file.path.lastIndexOf('/'))));
    mp.FS.writeFile(`/fw/${file.path}`, file.data);
  }
  // '' (the current directory, /fw) stays first, as on a board; the frozen modules (asyncio) stay.
  mp.runPython(
    "import os, sys\nos.chdir('/fw')\nfor p in ('/fw/tests/mp', '/fw/tests/shims', '/fw'):\n    sys.path.insert(1, p)\n",
  );
  return mp;
}

function pythonErrorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A fresh MicroPython with the firmware tree at /fw (the current directory) and sys.path set
 * for /fw, /fw/tests/shims and /fw/tests/mp.
 */
export async function loadFirmwareMicroPython(options: { heapsize?: number } = {}): Promise<FirmwareMicroPython> {
  let bytes: number[] = [];
  const take = () => {
    const text = decoder.decode(new Uint8Array(bytes));
    bytes = [];
    return text;
  };
  const mp = await boot(options.heapsize ?? DEFAULT_HEAPSIZE, (b) => bytes.push(b));
  const failed = (err: unknown) => new Error(`MicroPython: ${pythonErrorText(err)}\n--- output ---\n${take()}`);
  return {
    mp,
    run(code) {
      take();
      try {
        mp.runPython(code);
      } catch (err) {
        throw failed(err);
      }
      return take();
    },
    async runAsync(code) {
      take();
      try {
        await mp.runPythonAsync(code);
      } catch (err) {
        throw failed(err);
      }
      return take();
    },
  };
}

/** Reads runner.py's output (see its header) into one result per test. */
export function parseRunnerOutput(lines: string[]): { results: PythonTestResult[]; done: boolean; running?: string; output: string[] } {
  const results: PythonTestResult[] = [];
  let done = false;
  let running: string | undefined;
  let output: string[] = [];
  let last: { result: PythonTestResult; head: string; trace: string[] } | undefined;
  const finish = () => {
    if (last !== undefined) {
      const parts = [last.head, ...last.trace];
      if (output.length > 0) parts.push('--- printed by the test ---', ...output);
      last.result.message = parts.join('\n');
      output = [];
    }
    last = undefined;
  };
  for (const line of lines) {
    if (last !== undefined && line.startsWith('  | ')) {
      last.trace.push(line.slice(4));
      continue;
    }
    const m = /^(RUN|PASS|FAIL|DONE) (.*)$/.exec(line);
    const kind = m?.[1];
    const rest = m?.[2] ?? '';
    if (kind === 'RUN') {
      finish();
      running = rest;
      output = [];
    } else if (kind === 'PASS') {
      finish();
      results.push({ name: rest, ok: true, message: '' });
      running = undefined;
      output = [];
    } else if (kind === 'FAIL') {
      finish();
      const cut = rest.indexOf(': ');
      const result = { name: cut < 0 ? rest : rest.slice(0, cut), ok: false, message: '' };
      results.push(result);
      last = { result, head: cut < 0 ? rest : rest.slice(cut + 2), trace: [] };
      running = undefined;
    } else if (kind === 'DONE') {
      finish();
      done = true;
    } else {
      output.push(line);
    }
  }
  finish();
  return { results, done, ...(running === undefined ? {} : { running }), output };
}

/** Results plus a failure for a run that ended without its DONE line. */
function resultsOf(lines: string[], modules: string[], why: string | undefined): PythonTestResult[] {
  const parsed = parseRunnerOutput(lines);
  if (parsed.done && why === undefined) return parsed.results;
  const tail = parsed.output.slice(-40);
  const message = [why ?? 'the interpreter stopped before the runner finished', ...(tail.length > 0 ? ['--- last output ---', ...tail] : [])];
  return [...parsed.results, { name: parsed.running ?? modules.join(','), ok: false, message: message.join('\n') }];
}

function checkModuleNames(modules: string[]): void {
  for (const m of modules) if (!/^[A-Za-z_]\w*$/.test(m)) throw new Error(`not a Python module name: ${m}`);
}

interface WorkerRequest {
  kind: 'tether-firmware-tests';
  modules: string[];
  heapsize: number;
}

type WorkerReply = { line: string } | { done: true } | { error: string };

/**
 * Runs firmware test modules in one fresh MicroPython (in a worker thread) and returns a result
 * per test. Never throws: a crash or a time-out is a failing result naming where it happened.
 */
export function runFirmwareTestsUnderMicroPython(
  modules: string[],
  heapsize = DEFAULT_HEAPSIZE,
  options: { timeoutMs?: number } = {},
): Promise<PythonTestResult[]> {
  checkModuleNames(modules);
  const request: WorkerRequest = { kind: 'tether-firmware-tests', modules, heapsize };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve) => {
    const lines: string[] = [];
    let why: string | undefined;
    const worker = new Worker(new URL(import.meta.url), { workerData: request });
    const timer = setTimeout(() => {
      why = `timed out after ${timeoutMs} ms (a test that never returns or awaits?)`;
      void worker.terminate();
    }, timeoutMs);
    worker.on('message', (reply: WorkerReply) => {
      if ('line' in reply) lines.push(reply.line);
      else {
        if ('error' in reply) why = `MicroPython: ${reply.error}`;
        void worker.terminate();
      }
    });
    worker.on('error', (err) => (why = `worker: ${err.stack ?? err.message}`));
    worker.on('exit', () => {
      clearTimeout(timer);
      resolve(resultsOf(lines, modules, why));
    });
  });
}

async function workerMain(request: WorkerRequest): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  let bytes: number[] = [];
  const flush = () => {
    port.postMessage({ line: decoder.decode(new Uint8Array(bytes)) } satisfies WorkerReply);
    bytes = [];
  };
  try {
    const mp = await boot(request.heapsize, (b) => {
      if (b === 10) flush();
      else bytes.push(b);
    });
    // In a task of its own: awaited directly at top level, asyncio.wait_for_ms hangs once the
    // awaited coroutine finishes (it cancels its waiter, and the top-level pseudo-task cannot be).
    await mp.runPythonAsync(
      `import sys, asyncio\nsys.path.append('/fw/tests')\nimport runner\n` +
        `await asyncio.create_task(runner.run(${JSON.stringify(request.modules)}, True))\n`,
    );
  } catch (err) {
    if (bytes.length > 0) flush();
    port.postMessage({ error: pythonErrorText(err) } satisfies WorkerReply);
    return;
  }
  if (bytes.length > 0) flush();
  port.postMessage({ done: true } satisfies WorkerReply);
}

/** Runs firmware test modules in one CPython process (python3 firmware/tests/runner.py). */
export function runFirmwareTestsUnderCPython(modules: string[], options: { timeoutMs?: number } = {}): Promise<PythonTestResult[]> {
  checkModuleNames(modules);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let why: string | undefined;
    const child = spawn('python3', ['-X', 'utf8', RUNNER, '-v', ...modules], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => {
      why = `timed out after ${timeoutMs} ms (a test that never returns or awaits?)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => (why = `python3: ${e.message}`));
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = out.split('\n');
      if (lines.at(-1) === '') lines.pop();
      if (why === undefined && code !== 0 && code !== 1) why = `python3 exited with code ${String(code)}`;
      if (err.trim() !== '') lines.push('--- stderr ---', ...err.trimEnd().split('\n'));
      resolve(resultsOf(lines, modules, why));
    });
  });
}

/** Runs fn over items, at most `limit` at a time, results in the items' order. */
export async function mapLimit<T, R>(items: T[], fn: (item: T) => Promise<R>, limit = Math.min(4, availableParallelism())): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}

function isWorkerRequest(data: unknown): data is WorkerRequest {
  return typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'tether-firmware-tests';
}

// This file is also the worker's script (see runFirmwareTestsUnderMicroPython).
if (!isMainThread && isWorkerRequest(workerData)) void workerMain(workerData);
