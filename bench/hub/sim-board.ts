// A real board in hub mode, in this process: the Board on simulated hardware, its Dispatcher and
// the HubLink a board runs (src/device/hub-link.ts), with the link's own defaults unless told
// otherwise (jittered backoff from Math.random, the hub's keepalive, its own welcome timeout) —
// test/support/linked-board.ts without its test settings (200 ms keepalive, fixed jitter).
import type { HubLink, HubLinkState } from '../../src/device/hub-link.js';
import { startLinkedBoard } from '../../test/support/linked-board.js';

/** One relay on pin 15: `read_pin` 15 is the command the bench times. */
export const RELAY_BOARD = { name: 'bench', pins: [{ pin: 15, name: 'relay', mode: 'output', value: 0 }] };

export interface SimBoardOptions {
  port: number;
  id: string;
  token: string;
  /** The keepalive to ask the hub for; default: none asked, the hub's (1000 ms). */
  keepaliveMs?: number;
  /** HubLink's welcome timeout; default: HubLink's own. */
  handshakeTimeoutMs?: number;
}

export interface SimBoard {
  readonly link: HubLink;
  /** Every state change of the link, with performance.now() at the time. */
  readonly states: Array<{ state: HubLinkState; at: number }>;
  /** Resolves at the first 'up' after `since` (performance.now()), or rejects after timeoutMs. */
  upAfter(since: number, timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

export async function startSimBoard(options: SimBoardOptions): Promise<SimBoard> {
  const linked = await startLinkedBoard({
    port: options.port,
    id: options.id,
    token: options.token,
    config: RELAY_BOARD,
    keepaliveMs: options.keepaliveMs ?? null,
    random: Math.random,
    ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
  });
  const link = linked.link;
  const states: SimBoard['states'] = [];
  const waiters = new Set<() => void>();
  link.onState((state) => {
    states.push({ state, at: performance.now() });
    for (const w of [...waiters]) w();
  });
  const upAfter = (since: number, timeoutMs = 30_000) =>
    new Promise<number>((resolve, reject) => {
      const check = () => {
        const up = states.find((s) => s.state === 'up' && s.at >= since);
        if (up === undefined) return;
        cleanup();
        resolve(up.at);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${options.id}: the link was not up within ${timeoutMs} ms (state ${link.state})`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    link,
    states,
    upAfter,
    close: () => linked.close(),
  };
}
