// A real MQTT broker for the bridge's tests and bench: Debian's `mosquitto` (CI installs it in
// .ci/run), started on a free loopback port with its own config, password file and persistence
// folder, so a test can stop it, start it again on the same port with its retained messages, or
// kill it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

export function mosquittoPath(): string | undefined {
  const chosen = process.env['TETHER_MOSQUITTO'];
  if (chosen !== undefined && chosen !== '') return chosen;
  return CANDIDATES.find((p) => fs.existsSync(p));
}

/**
 * The `skip` option for broker tests: false when mosquitto is here. Without one, a developer's
 * run skips them and says how to get one; CI (CI=true) must not skip, so there they run and fail.
 */
export const SKIP_WITHOUT_MOSQUITTO: string | false =
  mosquittoPath() !== undefined || process.env['CI'] === 'true' ? false : 'no mosquitto found: apt-get install mosquitto (or set TETHER_MOSQUITTO to its binary)';

export interface BrokerOptions {
  /** user → password; when given, anonymous clients are refused. */
  users?: Record<string, string>;
  port?: number;
  /** PEM files: the listener speaks TLS only (mqtts://). */
  tls?: { certFile: string; keyFile: string };
}

export class Broker {
  private child: ChildProcess | undefined;
  private log = '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly tls: boolean,
  ) {}

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  /** What mosquitto wrote to stderr since it last started, for a failing test's message. */
  get output(): string {
    return this.log;
  }

  static async start(options: BrokerOptions = {}): Promise<Broker> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-mosquitto-'));
    const port = options.port ?? (await freePort());
    // As root, mosquitto would drop to its own user, who cannot read this private folder.
    const user = process.getuid?.() === 0 ? ['user root'] : [];
    const lines = [...user, `listener ${port} 127.0.0.1`, 'set_tcp_nodelay true', 'persistence true', `persistence_location ${dir}/`, 'log_dest stderr', 'log_type error', 'log_type warning'];
    if (options.tls !== undefined) lines.push(`certfile ${options.tls.certFile}`, `keyfile ${options.tls.keyFile}`);
    if (options.users !== undefined) {
      const passwords = path.join(dir, 'passwords');
      fs.writeFileSync(passwords, '');
      for (const [user, password] of Object.entries(options.users)) {
        const made = spawnSync('mosquitto_passwd', ['-b', passwords, user, password], { encoding: 'utf8' });
        if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr}`);
      }
      lines.push('allow_anonymous false', `password_file ${passwords}`);
    } else {
      lines.push('allow_anonymous true');
    }
    fs.writeFileSync(path.join(dir, 'mosquitto.conf'), lines.join('\n') + '\n');
    const broker = new Broker(port, dir, options.tls !== undefined);
    await broker.resume();
    return broker;
  }

  /** Starts it again on the same port, with what it persisted (retained messages). */
  async resume(): Promise<void> {
    const bin = mosquittoPath();
    if (bin === undefined) throw new Error('no mosquitto found: apt-get install mosquitto');
    this.log = '';
    const child = spawn(bin, ['-c', path.join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => (this.log += chunk.toString('utf8')));
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!(await accepts(this.port))) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}: ${this.log}`);
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on 127.0.0.1:${this.port} within 10 s: ${this.log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** SIGTERM: mosquitto saves its retained messages and closes every connection. */
  stop(): Promise<void> {
    return this.end('SIGTERM');
  }

  /** SIGKILL: connections drop without a word, as when the broker's machine loses power. */
  kill(): Promise<void> {
    return this.end('SIGKILL');
  }

  async close(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private end(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }
}


function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
