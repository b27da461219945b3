// The first frame of a link connection (hello or welcome) is read apart from the channel
// that takes over the socket afterwards; bytes that came after it are put back for the channel.
import type { Socket } from 'node:net';
import type { Clock } from '../common/clock.js';
import { decodeFrame } from '../protocol/codec.js';
import { ProtocolError } from '../protocol/errors.js';
import { LineDecoder } from '../protocol/framing.js';
import { parseLinkMessage, type LinkMessage } from '../protocol/link/messages.js';

/** The first frame did not come in time (or the connection did not open in time). */
export class HandshakeTimeout extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandshakeTimeout';
  }
}

/**
 * Resolves with the first frame as a link message and leaves the socket paused, with any later
 * bytes unshifted. Rejects with a ProtocolError for a frame that is not a valid link message
 * (the socket is left open so the caller can say why) and with an Error, the socket destroyed,
 * on a close, a timeout or an oversize frame.
 */
export function readFirstMessage(socket: Socket, clock: Clock, timeoutMs: number, what: string): Promise<LinkMessage> {
  return new Promise((resolve, reject) => {
    const decoder = new LineDecoder(64 * 1024);
    let done = false;
    const finish = (result: LinkMessage | Error, rest?: Buffer) => {
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
          frame: (bytes) => {
            const decoded = decodeFrame(bytes);
            if (!decoded.ok) return finish(decoded.error);
            try {
              finish(parseLinkMessage(decoded.message), chunk.subarray(end));
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
  });
}
