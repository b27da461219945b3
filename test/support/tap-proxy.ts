// A TCP proxy on the path between a client and a board, as someone on the LAN would sit: it
// records every byte each way and, on command, rewrites or injects lines. The security tests use
// it to show that the token never crosses and that a sealed connection refuses what is changed.
import net from 'node:net';

/** client → board is up, board → client is down. */
export type Way = 'up' | 'down';

/** Rewrites one whole line (without its `\n`) going one way; return it unchanged to pass it on. */
export type LineRewrite = (line: Buffer) => Buffer;

interface Lane {
  client: net.Socket;
  board: net.Socket;
  pending: Record<Way, Buffer>;
}

export class TapProxy {
  /** Everything that went each way, over every connection, in order. */
  readonly seen: Record<Way, Buffer> = { up: Buffer.alloc(0), down: Buffer.alloc(0) };
  private readonly rewrites: Record<Way, LineRewrite[]> = { up: [], down: [] };
  private readonly lanes = new Set<Lane>();

  private constructor(
    private readonly server: net.Server,
    private readonly target: number,
  ) {}

  static async start(targetPort: number): Promise<TapProxy> {
    const server = net.createServer();
    const proxy = new TapProxy(server, targetPort);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The lines seen one way, as text. */
  lines(way: Way): string[] {
    return this.seen[way].toString('utf8').split('\n').filter((l) => l !== '');
  }

  /** Rewrites the next whole line going this way (once). */
  rewriteNext(way: Way, rewrite: LineRewrite): void {
    this.rewrites[way].push(rewrite);
  }

  /** Writes bytes to every open connection as if they came from the client (up) or the board (down). */
  inject(way: Way, bytes: string | Buffer): void {
    for (const lane of this.lanes) (way === 'up' ? lane.board : lane.client).write(bytes);
  }

  async close(): Promise<void> {
    for (const lane of this.lanes) {
      lane.client.destroy();
      lane.board.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const board = net.connect({ host: '127.0.0.1', port: this.target });
    const lane: Lane = { client, board, pending: { up: Buffer.alloc(0), down: Buffer.alloc(0) } };
    this.lanes.add(lane);
    const end = () => {
      this.lanes.delete(lane);
      client.destroy();
      board.destroy();
    };
    for (const socket of [client, board]) {
      socket.setNoDelay(true);
      socket.on('error', end);
      socket.on('close', end);
    }
    client.on('data', (chunk: Buffer) => this.pass(lane, 'up', chunk));
    board.on('data', (chunk: Buffer) => this.pass(lane, 'down', chunk));
  }

  /** Forwards whole lines, so a rewrite sees a line at once; bytes after the last newline wait. */
  private pass(lane: Lane, way: Way, chunk: Buffer): void {
    let data = Buffer.concat([lane.pending[way], chunk]);
    const out: Buffer[] = [];
    for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a)) {
      const line = data.subarray(0, nl);
      const rewrite = this.rewrites[way].shift();
      out.push(rewrite === undefined ? line : rewrite(line), Buffer.from('\n'));
      data = data.subarray(nl + 1);
    }
    lane.pending[way] = Buffer.from(data);
    if (out.length === 0) return;
    const bytes = Buffer.concat(out);
    this.seen[way] = Buffer.concat([this.seen[way], bytes]);
    (way === 'up' ? lane.board : lane.client).write(bytes);
  }
}
