// A throwaway PostgreSQL cluster for the PostgreSQL store's tests and bench: Debian's
// `postgresql` package (CI installs it in .ci/run). initdb into a temporary folder, postgres on a
// free loopback port with its socket in that folder, a database per suite owned by a role that
// is no superuser (as a hub's would be); stop() ends the server and removes the folder, and so
// does this process's exit if a test forgot to. initdb and postgres refuse to run as root: as
// root (CI) they run as Debian's `postgres` user, through setpriv.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';

const PROGRAMS = ['initdb', 'postgres'] as const;
/** The role the store connects as: it owns its test database and is no superuser. */
const HUB_ROLE = 'hub';
const SUPERUSER = 'tether';
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** The folder holding initdb and postgres: TETHER_POSTGRES_BIN, then PATH, then Debian's /usr/lib/postgresql/<newest>/bin. */
export function postgresBin(): string | undefined {
  const chosen = process.env['TETHER_POSTGRES_BIN'];
  if (chosen !== undefined && chosen !== '') return chosen;
  const onPath = (process.env['PATH'] ?? '').split(path.delimiter).filter((dir) => dir !== '');
  const debian = fs.existsSync('/usr/lib/postgresql')
    ? fs
        .readdirSync('/usr/lib/postgresql')
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => `/usr/lib/postgresql/${v}/bin`)
    : [];
  return [...onPath, ...debian].find((dir) => PROGRAMS.every((p) => fs.existsSync(path.join(dir, p))));
}

/**
 * The `skip` option for PostgreSQL tests: false when PostgreSQL is here. Without it, a
 * developer's run skips them and says how to get it; CI (CI set) must not skip, so there they
 * run and fail.
 */
export const SKIP_WITHOUT_POSTGRES: string | false =
  postgresBin() !== undefined || process.env['CI'] !== undefined ? false : 'no PostgreSQL found: apt-get install postgresql (or set TETHER_POSTGRES_BIN to the folder of its initdb and postgres)';

export interface ClusterOptions {
  /** fsync and synchronous commits, off by default for speed; the bench turns them on to measure what a real server does. */
  durable?: boolean;
}

export class PostgresCluster {
  private log = '';
  private databases = 0;
  private readonly exitHook = () => this.killNow();
  /** Killed by a signal (a runner's timeout, ^C), the process runs no exit hooks: clean up, then die of it. */
  private readonly signalHook = (signal: NodeJS.Signals) => {
    void this.stop().finally(() => process.kill(process.pid, signal));
  };

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    process.once('exit', this.exitHook);
    for (const signal of SIGNALS) process.once(signal, this.signalHook);
    child.stderr?.on('data', (chunk: Buffer) => (this.log += chunk.toString('utf8')));
  }

  /** What postgres wrote to stderr, for a failing test's message. */
  get output(): string {
    return this.log;
  }

  static async start(options: ClusterOptions = {}): Promise<PostgresCluster> {
    const bin = postgresBin();
    if (bin === undefined) throw new Error('no PostgreSQL found: apt-get install postgresql (or set TETHER_POSTGRES_BIN to the folder of its initdb and postgres)');
    const dir = fs.mkdtempSync(path.join(parentFolder(), 'tether-postgres-'));
    try {
      const asUser = unprivileged(dir);
      const data = path.join(dir, 'data');
      const init = spawnSync(...as(asUser, path.join(bin, 'initdb'), ['-D', data, '-U', SUPERUSER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']), {
        cwd: dir,
        encoding: 'utf8',
      });
      if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr}${init.error?.message ?? ''}`);
      const durability = options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
      // A free port can be taken between freePort() and the server's bind: try another.
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const args = ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', dir, ...durability];
        const child = spawn(...as(asUser, path.join(bin, 'postgres'), args), { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
        const cluster = new PostgresCluster(port, dir, child);
        if (await cluster.ready()) {
          await cluster.admin(`CREATE ROLE ${HUB_ROLE} LOGIN`);
          return cluster;
        }
        await cluster.halt();
        if (attempt === 3) throw new Error(`postgres did not start on 127.0.0.1:${port}: ${cluster.output}`);
      }
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * The URL of a new empty database owned by the hub's role. `icuLocale` sorts its text by that
   * locale (e.g. en-US: a before B before b) rather than the cluster's C, where PostgreSQL has
   * ICU locales (15 and later; ignored before).
   */
  async createDatabase(options: { icuLocale?: string } = {}): Promise<string> {
    const name = `hub_${++this.databases}`;
    const { rows } = await this.admin<{ version: number }>("SELECT current_setting('server_version_num')::int AS version");
    const icu = options.icuLocale !== undefined && (rows[0]?.version ?? 0) >= 150_000 ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${options.icuLocale}'` : '';
    await this.admin(`CREATE DATABASE ${name} OWNER ${HUB_ROLE}${icu}`);
    return this.url(name);
  }

  url(database: string, user = HUB_ROLE): string {
    return `postgres://${user}@127.0.0.1:${this.port}/${database}`;
  }

  /** Runs SQL as the superuser, on the database named (default: postgres). */
  async admin<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, database = 'postgres'): Promise<pg.QueryResult<R>> {
    const client = new pg.Client({ connectionString: this.url(database, SUPERUSER) });
    await client.connect();
    try {
      return await client.query<R>(sql);
    } finally {
      await client.end();
    }
  }

  /** Stops the server (fast shutdown) and removes its folder. */
  async stop(): Promise<void> {
    await this.halt();
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }

  private async halt(): Promise<void> {
    process.removeListener('exit', this.exitHook);
    for (const signal of SIGNALS) process.removeListener(signal, this.signalHook);
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGINT');
    });
  }

  /** At exit without stop(), when nothing can be waited for: the server is killed, and the folder goes. */
  private killNow(): void {
    process.removeListener('exit', this.exitHook);
    for (const signal of SIGNALS) process.removeListener(signal, this.signalHook);
    this.child.kill('SIGKILL');
    // Its backends may still write for a moment as they notice: retry what they refill.
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }

  private async ready(): Promise<boolean> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return false;
      const client = new pg.Client({ connectionString: this.url('postgres', SUPERUSER) });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.end();
        return true;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return false;
  }
}

/**
 * Where the cluster's folder goes: the system's temporary folder, unless the tests run as root
 * and the postgres user cannot get through it (a 0700 /tmp); then /var/tmp.
 */
function parentFolder(): string {
  const tmp = os.tmpdir();
  const root = process.getuid?.() === 0;
  return root && (fs.statSync(tmp).mode & 0o001) === 0 ? '/var/tmp' : tmp;
}

/** A program and its arguments, run through `prefix` (unprivileged()) when there is one. */
function as(prefix: readonly string[], program: string, args: readonly string[]): [string, string[]] {
  const [first, ...rest] = [...prefix, program, ...args];
  return [first as string, rest];
}

/**
 * As root: the command prefix that runs a program as Debian's `postgres` user, who is given
 * the folder. Otherwise none.
 */
function unprivileged(dir: string): string[] {
  if (process.getuid?.() !== 0) return [];
  const entry = spawnSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' });
  const [, , uid, gid] = entry.stdout.trim().split(':');
  if (entry.status !== 0 || uid === undefined || gid === undefined) {
    throw new Error('running as root, and initdb refuses root: create a postgres user (Debian\'s postgresql package does) or run the tests as another user');
  }
  fs.chownSync(dir, Number(uid), Number(gid));
  return ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'];
}
