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
    const onData = (chunk: Buffer) => {
      const nl = chunk.indexOf(0x0a);
      decoder.push(nl === -1 ? chunk : chunk.subarray(0, nl + 1), {
        frame: (bytes) => {
          const decoded = decodeFrame(bytes);
          if (!decoded.ok) return finish(decoded.error);
          try {
            finish(parseLinkMessage(decoded.message), nl === -1 ? undefined : chunk.subarray(nl + 1));
          } catch (err) {
            finish(err instanceof Error ? err : new Error(String(err)));
          }
        },
        oversize: (limit) => finish(new Error(`the ${what} is longer than ${limit} bytes`)),
      });
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}
