// A raw link connection for hub tests: the test speaks the link protocol (protocol.md §10) by
// hand, frame by frame or byte by byte, where a real board would hide what is on the wire.
// `authenticate` runs the board's side of the challenge and response (§10.5) and from then on
// every frame sent is sealed and every sealed frame received is opened (§10.6).
import net from 'node:net';
import { keyOfToken, newNonce, proofEquals, SealError } from '../../src/protocol/auth.js';
import { decodeFrame, type JsonObject } from '../../src/protocol/codec.js';
import { encodeFrame, LineDecoder } from '../../src/protocol/framing.js';
import { encodeSealed, linkProofs, linkSeal, type LinkSeal } from '../../src/protocol/link/link-auth.js';

export interface RawLink {
  readonly socket: net.Socket;
  /** Every frame received so far, decoded (and opened, once sealed), in order. */
  readonly frames: JsonObject[];
  /** Frames that came sealed but failed their MAC (the connection is closed at the first). */
  readonly sealErrors: string[];
  /** Resolves when the socket has closed (either side). */
  readonly closed: Promise<void>;
  /** True once the socket has closed. */
  readonly isClosed: boolean;
  /** Sends one message as a frame (sealed once authenticated). */
  send(message: object): void;
  /** Writes bytes as they are (a frame cut anywhere, invalid UTF-8, a replayed line, …). */
  sendBytes(bytes: Buffer | string): void;
  /** Seals each line of `text` (frames ending in `\n`) as this connection's next frames, for sendBytes. */
  sealLines(text: string | Buffer): Buffer;
  /**
   * Says hello as board `id` (`extra` overrides or adds hello fields), checks the hub's proof,
   * sends the board's and seals from then on. Resolves with the hub's answer to the auth (the
   * welcome), or with its reject of the hello. Throws when the hub's proof is wrong.
   */
  authenticate(id: string, token: string, extra?: object): Promise<JsonObject>;
  /** The first frame received (from `from` on) that matches; waits up to timeoutMs for it. */
  waitFor(match: (frame: JsonObject) => boolean, what: string, timeoutMs?: number, from?: number): Promise<JsonObject>;
  close(): void;
}

const SEALED = Buffer.from('{"mac":"');

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
  const sealErrors: string[] = [];
  let seal: LinkSeal | undefined;
  const decoder = new LineDecoder(1 << 20);
  socket.on('data', (chunk: Buffer) =>
    decoder.push(chunk, {
      frame: (line) => {
        let bytes = line;
        // An unsealed reject may still come after the auth (protocol.md §10.1).
        if (seal !== undefined && line.subarray(0, SEALED.length).equals(SEALED)) {
          try {
            bytes = seal.unsealer.open(line);
          } catch (err) {
            if (!(err instanceof SealError)) throw err;
            sealErrors.push(err.message);
            socket.destroy();
            return;
          }
        }
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
  const waitFor: RawLink['waitFor'] = async (match, what, timeoutMs = 5000, from = 0) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = frames.slice(from).find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`${what}: not received within ${timeoutMs} ms (got ${JSON.stringify(frames.slice(from))})`);
      if (isClosed) throw new Error(`${what}: the connection closed first (got ${JSON.stringify(frames.slice(from))})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const anyLink = (f: JsonObject) => f['link'] !== undefined;
  return {
    socket,
    frames,
    sealErrors,
    closed,
    get isClosed() {
      return isClosed;
    },
    send: (m) => void socket.write(seal === undefined ? encodeFrame(m) : encodeSealed(seal.sealer, m)),
    sendBytes: (bytes) => void socket.write(bytes),
    sealLines: (text) => {
      if (seal === undefined) throw new Error('sealLines before authenticate');
      const sealer = seal.sealer;
      const lines = Buffer.from(text).toString('latin1').split('\n').slice(0, -1);
      return Buffer.concat(lines.map((l) => Buffer.concat([sealer.seal(Buffer.from(l, 'latin1')), Buffer.from('\n')])));
    },
    authenticate: async (id, token, extra = {}) => {
      const hello = helloFrame(id, extra);
      const bytes = Buffer.from(JSON.stringify(hello));
      const from = frames.length;
      socket.write(Buffer.concat([bytes, Buffer.from('\n')]));
      const answer = await waitFor(anyLink, `${id}: the hub's answer to the hello`, 5000, from);
      if (answer['link'] !== 'challenge') return answer;
      const key = keyOfToken(token);
      const transcript = { boardNonce: String(hello['nonce']), hubNonce: String(answer['nonce']), hello: bytes };
      const proofs = linkProofs(key, transcript);
      if (!proofEquals(answer['proof'], proofs.hub)) throw new Error(`${id}: the hub's proof is wrong`);
      seal = linkSeal(key, transcript, 'board');
      socket.write(encodeFrame({ link: 'auth', proof: proofs.board }));
      return waitFor(anyLink, `${id}: the hub's answer to the auth`, 5000, from + 1);
    },
    waitFor,
    close: () => void socket.destroy(),
  };
}

/** A hello as a board sends it (protocol.md §10.1), with a fresh nonce; `extra` overrides or adds fields. */
export function helloFrame(deviceId: string, extra: object = {}): JsonObject {
  return { link: 'hello', protocol: 2, device_id: deviceId, nonce: newNonce(), boot_id: 'boot-1', ...extra };
}
