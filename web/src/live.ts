// The hub's live stream (GET /api/stream, docs/api.md#websocket-stream): one WebSocket for the
// whole dashboard, reopened with backoff whenever it drops. The token goes in the subprotocol,
// the one place a browser can put it on a WebSocket besides the URL.
import type { HubUpdate } from '../../src/hub/types.js';

export type StreamMessage = HubUpdate | { type: 'hello'; version: string } | { type: 'readings_dropped'; count: number };

/** `connecting` before the first hello; `reconnecting` after a drop, until the next hello. */
export type LinkStatus = 'connecting' | 'live' | 'reconnecting';

export interface LiveHandlers {
  /** The hub said hello: from here on every update arrives. Updates missed before need a reload. */
  opened(): void;
  message(m: HubUpdate): void;
  status(s: LinkStatus): void;
  /** The socket closed before the hub's hello: the hub is down, or the token was refused. */
  refused(): void;
}

const BACKOFF = { firstMs: 500, maxMs: 10_000 } as const;

export class LiveStream {
  private socket: WebSocket | undefined;
  private failures = 0;
  private timer: number | undefined;
  private stopped = false;
  private current: LinkStatus = 'connecting';

  constructor(
    private readonly token: string,
    private readonly handlers: LiveHandlers,
  ) {}

  get status(): LinkStatus {
    return this.current;
  }

  start(): void {
    window.addEventListener('online', this.retryNow);
    this.open();
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('online', this.retryNow);
    window.clearTimeout(this.timer);
    this.socket?.close(1000, 'signed out');
  }

  /** The network came back: do not wait out the backoff. */
  private readonly retryNow = (): void => {
    if (this.socket !== undefined || this.stopped) return;
    window.clearTimeout(this.timer);
    this.open();
  };

  private open(): void {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/api/stream`, [`bearer.${this.token}`]);
    this.socket = socket;
    let greeted = false;
    socket.onmessage = (e: MessageEvent<string>) => {
      let message: StreamMessage;
      try {
        message = JSON.parse(e.data) as StreamMessage;
      } catch {
        return;
      }
      if (message.type === 'hello') {
        greeted = true;
        this.failures = 0;
        this.setStatus('live');
        this.handlers.opened();
      } else if (message.type !== 'readings_dropped') {
        // Dropped readings come again at the next interval; nothing to catch up.
        this.handlers.message(message);
      }
    };
    socket.onclose = () => {
      this.socket = undefined;
      if (this.stopped) return;
      if (!greeted) this.handlers.refused();
      // Still connecting until a first hello; after one, any drop is a reconnect.
      if (greeted || this.current !== 'connecting') this.setStatus('reconnecting');
      // Full jitter, so that many open dashboards do not all come back in the same instant.
      const ceiling = Math.min(BACKOFF.maxMs, BACKOFF.firstMs * 2 ** this.failures++);
      this.timer = window.setTimeout(() => this.open(), Math.max(250, Math.random() * ceiling));
    };
  }

  private setStatus(status: LinkStatus): void {
    if (status === this.current) return;
    this.current = status;
    this.handlers.status(status);
  }
}
