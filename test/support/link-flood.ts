// A flood of silent connections to a port (a hub's link port, a board's): each connects and
// sends nothing, spread over loopback source addresses, and (with `refill`) one closed by the far
// side is opened again at once, as an attacker that wants to keep every slot would. For the
// fairness tests and `npm run bench:flood`.
import { execFileSync } from 'node:child_process';
import net from 'node:net';

export interface FloodOptions {
  port: number;
  /** Connections held open at once (at most; the far side may close some). */
  count: number;
  /** Source addresses, used in turn; default 127.0.0.1 only. */
  sources?: string[];
  /** Open a new connection for each one the far side closes, until stop(). */
  refill?: boolean;
}

export interface Flood {
  /** Connections that opened, refills included. */
  readonly connected: number;
  /** Connections the far side closed. */
  readonly closedByPeer: number;
  /** Open now, per source address. */
  openFrom(source: string): number;
  /** Ends every connection and stops refilling. */
  stop(): void;
}

/** The open-file limit this process runs under (Node raises its soft limit to the hard one). */
export function fileLimit(): number {
  const text = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  return text === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(text);
}

/** Loopback addresses this machine can send from, 127.0.0.1 first, up to `n`. */
export async function loopbackSources(n: number): Promise<string[]> {
  const sources = ['127.0.0.1'];
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  for (let i = 2; i <= n; i++) {
    const localAddress = `127.0.0.${i}`;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (!ok) break;
    sources.push(localAddress);
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return sources;
}

/** Opens the flood; resolves once `count` connections have opened (or failed to). */
export async function startFlood(options: FloodOptions): Promise<Flood> {
  const sources = options.sources ?? ['127.0.0.1'];
  const sockets = new Set<net.Socket>();
  const open = new Map<string, number>(sources.map((s) => [s, 0]));
  let connected = 0;
  let closedByPeer = 0;
  let stopped = false;

  const dial = (source: string): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect({ port: options.port, host: '127.0.0.1', localAddress: source });
      sockets.add(socket);
      let up = false;
      socket.once('connect', () => {
        up = true;
        connected++;
        open.set(source, (open.get(source) ?? 0) + 1);
        resolve();
      });
      socket.on('error', () => undefined);
      socket.once('close', () => {
        sockets.delete(socket);
        if (!up) return resolve();
        open.set(source, (open.get(source) ?? 1) - 1);
        if (stopped) return;
        closedByPeer++;
        if (options.refill === true) void dial(source);
      });
    });

  // In batches: a burst of thousands of SYNs at once overflows the listen backlog.
  const BATCH = 100;
  for (let i = 0; i < options.count; i += BATCH) {
    const batch: Array<Promise<void>> = [];
    for (let j = i; j < Math.min(options.count, i + BATCH); j++) batch.push(dial(sources[j % sources.length] as string));
    await Promise.all(batch);
  }
  return {
    get connected() {
      return connected;
    },
    get closedByPeer() {
      return closedByPeer;
    },
    openFrom: (source) => open.get(source) ?? 0,
    stop: () => {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}
