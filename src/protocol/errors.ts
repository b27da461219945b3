// The one catalogue of protocol error codes (protocol.md §6). docs/protocol.md lists the
// same codes; test/protocol/error-catalogue.test.ts fails when the two differ.

export interface ErrorSpec {
  /** What the code means, as written in the docs. */
  readonly summary: string;
  /** HTTP status the hub's API uses when it relays this error. */
  readonly httpStatus: number;
}

export const ERROR_CATALOGUE = {
  bad_utf8: { summary: 'The frame is not valid UTF-8.', httpStatus: 400 },
  bad_json: { summary: 'The frame is not valid JSON.', httpStatus: 400 },
  not_an_object: { summary: 'The frame is JSON but not a JSON object.', httpStatus: 400 },
  frame_too_large: {
    summary: 'The frame is longer than the maximum frame size; its bytes up to the next newline are discarded.',
    httpStatus: 413,
  },
  unknown_action: { summary: 'No action of that name exists on this board.', httpStatus: 400 },
  missing_field: { summary: 'A required field is absent.', httpStatus: 400 },
  bad_field: { summary: 'A field has the wrong type or is out of range.', httpStatus: 400 },
  pin_not_setup: { summary: 'The pin has not been set up with setup_pin (or in the board config).', httpStatus: 409 },
  pin_conflict: {
    summary: 'The pin is in a mode or use that forbids the request (an input written to, a reserved bus pin, a pin with an active lease).',
    httpStatus: 409,
  },
  unsupported: { summary: 'The board or its backend cannot do this.', httpStatus: 501 },
  sensor_error: { summary: 'The sensor did not answer or answered with bad data.', httpStatus: 502 },
  lease_too_long: { summary: "The requested timeout is longer than the pin's maximum lease.", httpStatus: 400 },
  limit_exceeded: {
    summary: 'A limit of the board was reached (subscriptions per connection); free something first.',
    httpStatus: 429,
  },
  unauthorized: { summary: 'The connection has no token, or its token does not allow this action.', httpStatus: 401 },
  rate_limited: {
    summary: 'The hub refused too many hellos or proofs from this address lately; the message says when to try again.',
    httpStatus: 429,
  },
  internal: { summary: 'The board failed in a way that is a bug; the message says where.', httpStatus: 500 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

/** Codes only the hub sends, in a link `reject` (protocol.md §10.1, §10.8); a board never does. */
export const LINK_ONLY_CODES = ['rate_limited'] as const satisfies readonly ErrorCode[];

/** The codes a board may send. */
export type BoardErrorCode = Exclude<ErrorCode, (typeof LINK_ONLY_CODES)[number]>;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** The wire form of an error inside a reply: `{ok: false, error: {code, message}}`. */
export interface WireError {
  code: ErrorCode;
  message: string;
}

/** Thrown inside the board or the dispatcher; turned into a wire error by the session. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}
