// A TCP load balancer in front of several hubs, as boards of a cluster dial one address
// (docs/scaling.md): each new connection goes to the next hub in turn, and a hub that refuses it
// (killed, not started yet) is passed over for the next one. Bytes are piped both ways unchanged.
import net from 'node:net';

export class RoundRobinProxy {
  private next = 0;
  private readonly sockets = new Set<net.Socket>();
  /** Where each connection went, by upstream port: how the boards spread. */
  readonly chosen = new Map<number, number>();

  private constructor(
    private readonly server: net.Server,
    private readonly upstreams: number[],
  ) {}

  static async start(upstreams: number[]): Promise<RoundRobinProxy> {
    const server = net.createServer();
    const proxy = new RoundRobinProxy(server, upstreams);
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.sockets.add(client);
    client.pause();
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    this.dial(client, 0);
  }

  private dial(client: net.Socket, tried: number): void {
    if (client.destroyed) return;
    if (tried >= this.upstreams.length) {
      client.destroy();
      return;
    }
    const port = this.upstreams[this.next++ % this.upstreams.length] as number;
    const upstream = net.connect(port, '127.0.0.1');
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    // Before it connected: that hub is not there, so the next one is tried.
    upstream.once('error', () => {
      upstream.destroy();
      this.dial(client, tried + 1);
    });
    upstream.once('connect', () => {
      this.chosen.set(port, (this.chosen.get(port) ?? 0) + 1);
      upstream.removeAllListeners('error');
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      // Frames are small and answered at once: no Nagle delay on either side.
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  }
}
