// A raw link connection for hub tests: the test speaks the link protocol (protocol.md §10) by
// hand, frame by frame or byte by byte, where a real board would hide what is on the wire.
import net from 'node:net';
import { decodeFrame, type JsonObject } from '../../src/protocol/codec.js';
import { encodeFrame, LineDecoder } from '../../src/protocol/framing.js';

export interface RawLink {
  readonly socket: net.Socket;
  /** Every frame received so far, decoded, in order. */
  readonly frames: JsonObject[];
  /** Resolves when the socket has closed (either side). */
  readonly closed: Promise<void>;
  /** True once the socket has closed. */
  readonly isClosed: boolean;
  /** Sends one message as a frame. */
  send(message: object): void;
  /** Writes bytes as they are (a frame cut anywhere, invalid UTF-8, …). */
  sendBytes(bytes: Buffer | string): void;
  /** The first frame received (from `from` on) that matches; waits up to timeoutMs for it. */
  waitFor(match: (frame: JsonObject) => boolean, what: string, timeoutMs?: number, from?: number): Promise<JsonObject>;
  close(): void;
}

/** Opens a TCP connection to a hub's link port; nothing is sent yet. */
export async function openRawLink(port: number, host = '127.0.0.1'): Promise<RawLink> {
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('error', () => undefined); // a reset by the hub shows as `closed`
  const frames: JsonObject[] = [];
  const decoder = new LineDecoder(1 << 20);
  socket.on('data', (chunk: Buffer) =>
    decoder.push(chunk, {
      frame: (bytes) => {
        const d = decodeFrame(bytes);
        if (d.ok) frames.push(d.message);
      },
      oversize: () => undefined,
    }),
  );
  let isClosed = false;
  const closed = new Promise<void>((r) =>
    socket.once('close', () => {
      isClosed = true;
      r();
    }),
  );
  return {
    socket,
    frames,
    closed,
    get isClosed() {
      return isClosed;
    },
    send: (m) => void socket.write(encodeFrame(m)),
    sendBytes: (bytes) => void socket.write(bytes),
    waitFor: async (match, what, timeoutMs = 5000, from = 0) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = frames.slice(from).find(match);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`${what}: not received within ${timeoutMs} ms (got ${JSON.stringify(frames.slice(from))})`);
        if (isClosed) throw new Error(`${what}: the connection closed first (got ${JSON.stringify(frames.slice(from))})`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    close: () => void socket.destroy(),
  };
}

/** A hello as a board sends it (protocol.md §10.1); `extra` overrides or adds fields. */
export function helloFrame(deviceId: string, token: string, extra: object = {}): JsonObject {
  return { link: 'hello', protocol: 1, device_id: deviceId, token, boot_id: 'boot-1', ...extra };
}
