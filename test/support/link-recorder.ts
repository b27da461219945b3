// Someone on the path of a link (protocol.md §10.5, §10.6), for the security tests: a TCP proxy
// that records every line of every connection in both directions, can be pointed at another
// server (a real hub, then a fake one), can alter lines going to the board, and can inject
// bytes toward the board. It holds no key: it is what a LAN attacker can be.
import net from 'node:net';

/** One proxied connection: its lines as they went, `up` board → hub and `down` hub → board. */
export interface RecordedConnection {
  readonly up: Buffer[];
  readonly down: Buffer[];
  readonly board: net.Socket;
}

export class LinkRecorder {
  readonly connections: RecordedConnection[] = [];
  /** Where new connections go. */
  target: { host: string; port: number };
  /** Changes a line going to the board (return it unchanged to pass it); undefined passes all. */
  alterDown: ((line: Buffer) => Buffer) | undefined;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    target: { host: string; port: number },
  ) {
    this.target = target;
    server.on('connection', (board: net.Socket) => this.accept(board));
  }

  static async start(target: { host: string; port: number }): Promise<LinkRecorder> {
    const recorder = new LinkRecorder(net.createServer(), target);
    await new Promise<void>((r) => recorder.server.listen(0, '127.0.0.1', () => r()));
    return recorder;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Every line that went one way, over every connection, in order. */
  lines(direction: 'up' | 'down'): Buffer[] {
    return this.connections.flatMap((c) => c[direction]);
  }

  /** Writes bytes to the board on the newest connection, as if the hub had sent them. */
  injectToBoard(bytes: Buffer | string): void {
    const last = this.connections.at(-1);
    if (last === undefined || !last.board.writable) throw new Error('no connection to inject into');
    last.board.write(bytes);
  }

  dropAll(): void {
    for (const s of [...this.sockets]) s.destroy();
  }

  close(): Promise<void> {
    this.dropAll();
    return new Promise((r) => this.server.close(() => r()));
  }

  private accept(board: net.Socket): void {
    const hub = net.connect(this.target);
    const record: RecordedConnection = { up: [], down: [], board };
    this.connections.push(record);
    for (const [from, to, lines, alter] of [
      [board, hub, record.up, () => undefined],
      [hub, board, record.down, () => this.alterDown],
    ] as const) {
      this.sockets.add(from);
      from.setNoDelay(true);
      from.on('error', () => from.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
      let pending = Buffer.alloc(0);
      from.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        for (let nl = pending.indexOf(0x0a); nl !== -1; nl = pending.indexOf(0x0a)) {
          const line = pending.subarray(0, nl);
          pending = pending.subarray(nl + 1);
          lines.push(Buffer.from(line));
          const change = alter();
          if (to.writable) to.write(Buffer.concat([change === undefined ? line : change(Buffer.from(line)), Buffer.from('\n')]));
        }
      });
    }
  }
}
