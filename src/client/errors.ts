// The client's error type. Board errors carry the protocol's code (src/protocol/errors.ts);
// failures the client detects itself use the codes below, defined here and nowhere else.
import { isErrorCode, type ErrorCode, type JsonObject } from '../protocol/index.js';

export const CLIENT_ERROR_CATALOGUE = {
  timeout: 'No reply arrived within the request timeout.',
  connection_failed: 'The TCP or TLS connection could not be opened (refused, unreachable, timed out, certificate rejected).',
  connection_closed: 'The connection closed or failed before the reply arrived.',
  bad_reply: 'The board sent a line that is not a valid reply (not a JSON object, too long, or missing a result field).',
  board_unverified: 'The board could not prove that it knows the token (protocol.md §8.1): a wrong address, or a device posing as the board. The connection was closed and nothing was sent to it.',
  challenge_unsupported: "The board does not know the challenge action, so the token could only be sent in clear; update the board, or pass auth: 'plain' (CLI: --plain-auth) on a network you trust.",
} as const;

export type ClientErrorCode = keyof typeof CLIENT_ERROR_CATALOGUE;

export type TetherErrorCode = ErrorCode | ClientErrorCode;

export const CLIENT_ERROR_CODES = Object.keys(CLIENT_ERROR_CATALOGUE) as ClientErrorCode[];

export class TetherError extends Error {
  readonly code: TetherErrorCode;
  /** The board's whole reply, when the error came from one. */
  readonly reply: JsonObject | undefined;

  constructor(code: TetherErrorCode, message: string, options: { reply?: JsonObject; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TetherError';
    this.code = code;
    this.reply = options.reply;
  }

  /** The error an `ok: false` reply stands for; a reply without a well-formed error is a bad_reply. */
  static fromReply(reply: JsonObject): TetherError {
    const error = reply['error'];
    if (typeof error === 'object' && error !== null && !Array.isArray(error)) {
      const { code, message } = error as JsonObject;
      const text = typeof message === 'string' ? message : '(no message)';
      if (isErrorCode(code)) return new TetherError(code, text, { reply });
      if (typeof code === 'string') {
        return new TetherError('bad_reply', `the board answered with an error code this client does not know (${code}): ${text}`, { reply });
      }
    }
    return new TetherError('bad_reply', 'the board answered ok:false without an error {code, message}', { reply });
  }
}

export function isTetherError(value: unknown): value is TetherError {
  return value instanceof TetherError;
}
