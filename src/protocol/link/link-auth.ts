// The link's authentication (protocol.md §10.5) and sealed frames (§10.6) in terms of its
// messages: which proof each side sends, the pair of seals a connection gets, and how long a
// sealed frame is. The HMAC work itself is src/protocol/auth.ts, shared with direct mode.
import { frameDigest, LABELS, proof, SEAL_OVERHEAD, Sealer, sessionKey, Unsealer } from '../auth.js';

/** What one side of an authenticated link seals its frames with and checks the other's with. */
export interface LinkSeal {
  readonly sealer: Sealer;
  readonly unsealer: Unsealer;
}

/** The nonces and the hello a link handshake proves knowledge of the board key over. */
export interface LinkTranscript {
  boardNonce: string;
  hubNonce: string;
  /** The hello line's exact bytes as the board sent them, without the line ending. */
  hello: Buffer | string;
}

/** The hub's proof (sent in `challenge`) and the board's (sent in `auth`) for one handshake. */
export function linkProofs(key: Buffer, t: LinkTranscript): { hub: string; board: string } {
  const digest = frameDigest(t.hello);
  return {
    hub: proof(key, LABELS.link.hub, t.boardNonce, t.hubNonce, digest),
    board: proof(key, LABELS.link.board, t.boardNonce, t.hubNonce, digest),
  };
}

/** The seals of one side once both proofs checked: the hub sends h2b and reads b2h, the board the reverse. */
export function linkSeal(key: Buffer, t: Pick<LinkTranscript, 'boardNonce' | 'hubNonce'>, side: 'hub' | 'board'): LinkSeal {
  const ks = sessionKey(key, LABELS.link.session, t.boardNonce, t.hubNonce);
  const { toBoard, toHub } = LABELS.link;
  return side === 'hub'
    ? { sealer: new Sealer(ks, toBoard), unsealer: new Unsealer(ks, toHub) }
    : { sealer: new Sealer(ks, toHub), unsealer: new Unsealer(ks, toBoard) };
}

/** One message as a sealed line, with its `\n`. */
export function encodeSealed(sealer: Sealer, message: object): Buffer {
  return Buffer.from(`${sealer.sealText(JSON.stringify(message))}\n`, 'utf8');
}
/** The widest `seq` and `ack` a `msg` frame can carry (2^32 − 1). */
const WIDEST_SEQ = 4_294_967_295;

/**
 * The longest a `msg` frame carrying `body` can be once sealed, without its line ending,
 * whatever its `seq` and `ack`: what the hub holds against the board's `max_frame` (§10.7).
 */
export function sealedMsgBytes(body: object): number {
  return Buffer.byteLength(JSON.stringify({ link: 'msg', seq: WIDEST_SEQ, ack: WIDEST_SEQ, body }), 'utf8') + SEAL_OVERHEAD;
}
