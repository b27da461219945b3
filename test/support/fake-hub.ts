// A minimal hub for the device's hub-mode tests: knows one board key (of one token), runs the
// link's challenge and response as the real hub does (src/link/authenticate.ts), keeps one
// board's streams across connections (minus storage), lets the newest connection win, and
// records what the board delivered.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { SystemClock } from '../../src/common/clock.js';
import { BoardNotProven, challengeBoard } from '../../src/link/authenticate.js';
import { LinkChannel } from '../../src/link/channel.js';
import { readFirstMessage } from '../../src/link/handshake.js';
import { Inbound } from '../../src/link/inbound.js';
import { keyOfToken } from '../../src/protocol/auth.js';
import type { JsonObject } from '../../src/protocol/codec.js';
import { encodeFrame } from '../../src/protocol/framing.js';
import { encodeSealed, type LinkSeal } from '../../src/protocol/link/link-auth.js';
import { LINK_VERSION, negotiateKeepalive, type Hello } from '../../src/protocol/link/messages.js';
import { Outbox } from '../../src/protocol/link/reliable.js';

export class FakeHub {
  readonly received: JsonObject[] = [];
  welcomes = 0;
  /** Hellos read, whatever came of them. */
  hellos = 0;
  /** Boards whose proof was wrong (a board that did not trust this hub sends none). */
  rejects = 0;
  private channel: LinkChannel | undefined;
  private outbox = new Outbox<JsonObject>({ capacity: 10_000, window: 64 });
  private inbound = new Inbound();
  private stream = randomUUID();
  private boot: string | undefined;
  private readonly clock = new SystemClock();
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly server: net.Server,
    readonly token: string,
    private readonly keepaliveMs: number,
  ) {}

  static async start(token: string, keepaliveMs = 200): Promise<FakeHub> {
    const server = net.createServer();
    const hub = new FakeHub(server, token, keepaliveMs);
    server.on('connection', (socket: net.Socket) => void hub.accept(socket));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return hub;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get linked(): boolean {
    return this.channel?.isOpen === true;
  }

  /** A command for the board; it is delivered once, whenever the board is linked. */
  send(body: JsonObject): void {
    if (this.channel?.isOpen) this.channel.send(body);
    else this.outbox.push(body);
  }

  /** Resolves with the first delivered body that matches, waiting up to timeoutMs. */
  async waitFor(match: (body: JsonObject) => boolean, timeoutMs = 5000): Promise<JsonObject> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`nothing matching arrived within ${timeoutMs} ms; got ${JSON.stringify(this.received).slice(0, 500)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }

  /** Drops the current connection (the board should find out and come back). */
  kick(): void {
    this.channel?.close('local');
  }

  async close(): Promise<void> {
    this.channel?.close('shutdown');
    await new Promise((r) => this.server.close(r));
  }

  private async accept(socket: net.Socket): Promise<void> {
    socket.on('error', () => undefined);
    let hello: Hello;
    let seal: LinkSeal;
    try {
      const first = await readFirstMessage(socket, this.clock, 5000, 'hello');
      if (first.message.link !== 'hello') throw new Error(`a ${first.message.link} before the hello`);
      hello = first.message;
      this.hellos++;
      seal = await challengeBoard(socket, keyOfToken(this.token), hello.nonce, first.bytes, { clock: this.clock, timeoutMs: 5000 });
    } catch (err) {
      if (err instanceof BoardNotProven) {
        this.rejects++;
        socket.end(encodeFrame({ link: 'reject', error: { code: 'unauthorized', message: 'unknown device or wrong token' } }));
      } else socket.destroy();
      return;
    }
    this.channel?.close('replaced');
    if (hello.boot_id !== this.boot) {
      // A new boot: the board lost its link state, so both streams start over.
      this.boot = hello.boot_id;
      this.inbound.restart();
      this.outbox.restart();
      this.stream = randomUUID();
    }
    await this.inbound.settle();
    const timing = negotiateKeepalive(hello.keepalive_ms, this.keepaliveMs);
    socket.write(encodeSealed(seal.sealer, { link: 'welcome', protocol: LINK_VERSION, session: randomUUID(), ...timing, stream: this.stream, ack: this.inbound.committed }));
    this.welcomes++;
    const channel = new LinkChannel(
      socket,
      { outbox: this.outbox, inbound: this.inbound },
      { keepaliveMs: timing.keepalive_ms, outageMs: timing.outage_ms, clock: this.clock, seal },
      {
        deliver: (body) => {
          this.received.push(body);
          for (const w of this.waiters.splice(0)) w();
        },
        closed: () => undefined,
      },
    );
    this.channel = channel;
    socket.resume();
    channel.start(hello.rx.stream === this.stream ? hello.rx.last : 0);
  }
}
