// The frames of a link handshake (hello, challenge, auth, welcome) are read one at a time, apart
// from the channel that takes over the socket afterwards; bytes that came after each one are put
// back for whoever reads next.
import type { Socket } from 'node:net';
import type { Clock } from '../common/clock.js';
import { SealError, type Unsealer } from '../protocol/auth.js';
import { decodeFrame } from '../protocol/codec.js';
import { ProtocolError } from '../protocol/errors.js';
import { LineDecoder } from '../protocol/framing.js';
import { parseLinkMessage, type LinkMessage } from '../protocol/link/messages.js';

/** The frame did not come in time (or the connection did not open in time). */
export class HandshakeTimeout extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandshakeTimeout';
  }
}

export interface HandshakeFrame {
  message: LinkMessage;
  /** The frame's exact bytes, without its line ending (and without its seal, when it had one). */
  bytes: Buffer;
}

export interface ReadFrameOptions {
  /**
   * The frame is sealed (the welcome, protocol.md §10.6); the only frame that may come unsealed
   * instead is a `reject`, which changes nothing but when the board dials next.
   */
  unsealer?: Unsealer;
}

const SEALED = Buffer.from('{"mac":"', 'latin1');

/**
 * Resolves with the next frame as a link message and leaves the socket paused, with any later
 * bytes unshifted. Rejects with a ProtocolError for a frame that is not a valid link message
 * (the socket is left open so the caller can say why) and with an Error, the socket destroyed,
 * on a close, a timeout, an oversize frame or a frame that fails its seal (a SealError).
 */
export function readFirstMessage(socket: Socket, clock: Clock, timeoutMs: number, what: string, options: ReadFrameOptions = {}): Promise<HandshakeFrame> {
  return new Promise((resolve, reject) => {
    const decoder = new LineDecoder(64 * 1024);
    let done = false;
    const finish = (result: HandshakeFrame | Error, rest?: Buffer) => {
      if (done) return;
      done = true;
      clock.clearTimer(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (result instanceof Error) {
        if (result instanceof ProtocolError) socket.pause();
        else socket.destroy();
        reject(result);
        return;
      }
      socket.pause();
      if (rest !== undefined && rest.length > 0) socket.unshift(rest);
      resolve(result);
    };
    const timer = clock.setTimer(timeoutMs, () => finish(new HandshakeTimeout(`no ${what} within ${timeoutMs} ms`)));
    const onClose = () => finish(new Error(`the connection closed before the ${what}`));
    let first = true;
    const onData = (chunk: Buffer) => {
      // A TLS ClientHello on a plain port is never a frame: close now, not at the timeout.
      if (first && chunk[0] === 0x16 && chunk[1] === 0x03) return finish(new Error(`TLS instead of a ${what}: this port speaks plain TCP`));
      first = false;
      // Line by line, so a blank line before the frame (skipped by the decoder) keeps what follows.
      for (let start = 0; !done && start < chunk.length; ) {
        const nl = chunk.indexOf(0x0a, start);
        const end = nl === -1 ? chunk.length : nl + 1;
        decoder.push(chunk.subarray(start, end), {
          frame: (line) => {
            try {
              finish(readLine(line, options.unsealer), chunk.subarray(end));
            } catch (err) {
              finish(err instanceof Error ? err : new Error(String(err)));
            }
          },
          oversize: (limit) => finish(new Error(`the ${what} is longer than ${limit} bytes`)),
        });
        start = end;
      }
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.resume(); // paused by the read before this one, if any
  });
}

function readLine(line: Buffer, unsealer: Unsealer | undefined): HandshakeFrame {
  const sealed = unsealer !== undefined && line.subarray(0, SEALED.length).equals(SEALED);
  const bytes = sealed ? unsealer.open(line) : line;
  const decoded = decodeFrame(bytes);
  if (!decoded.ok) throw decoded.error;
  const message = parseLinkMessage(decoded.message);
  if (unsealer !== undefined && !sealed && message.link !== 'reject') {
    throw new SealError(`the ${message.link} came without a seal; after authentication every frame but a reject carries a MAC`);
  }
  return { message, bytes };
}
