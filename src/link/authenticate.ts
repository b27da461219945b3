// The link's mutual authentication on a socket (protocol.md §10.5): after the hello, the hub
// proves that it knows the board key, then the board proves it, and both sides derive the seals
// of every later frame. The board's token never crosses the network; the hub holds only its key.
import type { Socket } from 'node:net';
import type { Clock } from '../common/clock.js';
import { newNonce, proofEquals } from '../protocol/auth.js';
import { ProtocolError } from '../protocol/errors.js';
import { encodeFrame } from '../protocol/framing.js';
import { linkProofs, linkSeal, type LinkSeal } from '../protocol/link/link-auth.js';
import type { Reject } from '../protocol/link/messages.js';
import { readFirstMessage } from './handshake.js';

/** The board's proof was wrong: it does not hold the key the hub registered for its id. */
export class BoardNotProven extends Error {
  constructor() {
    super('the board proof is wrong');
    this.name = 'BoardNotProven';
  }
}

/**
 * The hub answered the hello with no valid proof of the board key: a fake hub, or a hub that
 * registered another token for this board. Nothing from that connection may be acted on.
 */
export class HubNotProven extends Error {
  constructor(readonly detail: string) {
    super("did not prove it knows this board's key (a fake hub, or the token differs from the hub's registration)");
    this.name = 'HubNotProven';
  }
}

/** The hub refused the link with a coded `reject`. It is not authenticated: it only says why. */
export class LinkRejected extends Error {
  constructor(readonly error: Reject['error']) {
    super(`the hub refused the link: ${error.code}: ${error.message}`);
    this.name = 'LinkRejected';
  }
}

export interface HandshakeTiming {
  clock: Clock;
  /** How long the peer's next handshake frame may take. */
  timeoutMs: number;
}

/**
 * The hub's side, after a hello of a registered board: sends the challenge, reads the board's
 * `auth` and checks its proof in constant time. Rejects with BoardNotProven (the caller answers
 * `unauthorized`), a ProtocolError (a frame other than `auth`: the socket is left open for the
 * caller's coded reject) or an Error (closed, timed out; the socket is gone).
 */
export async function challengeBoard(socket: Socket, key: Buffer, boardNonce: string, hello: Buffer, timing: HandshakeTiming): Promise<LinkSeal> {
  const hubNonce = newNonce();
  const proofs = linkProofs(key, { boardNonce, hubNonce, hello });
  socket.write(encodeFrame({ link: 'challenge', nonce: hubNonce, proof: proofs.hub }));
  const { message } = await readFirstMessage(socket, timing.clock, timing.timeoutMs, 'auth');
  if (message.link !== 'auth') throw new ProtocolError('bad_field', `link: expected auth after the challenge, got ${message.link}`);
  if (!proofEquals(message.proof, proofs.board)) throw new BoardNotProven();
  return linkSeal(key, { boardNonce, hubNonce }, 'hub');
}

/**
 * The board's side, after it sent `hello` (whose exact bytes and nonce it passes): reads the
 * challenge and checks the hub's proof before it sends anything that depends on the key, then
 * sends its own proof. Rejects with HubNotProven (the socket destroyed), LinkRejected, a
 * HandshakeTimeout or another Error; on any of them nothing was sent but the hello.
 */
export async function answerChallenge(socket: Socket, key: Buffer, boardNonce: string, hello: Buffer, timing: HandshakeTiming): Promise<LinkSeal> {
  let challenge;
  try {
    ({ message: challenge } = await readFirstMessage(socket, timing.clock, timing.timeoutMs, 'challenge'));
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    socket.destroy();
    throw new HubNotProven(`its answer to the hello is not a valid challenge (${err.message})`);
  }
  if (challenge.link === 'reject') {
    socket.destroy();
    throw new LinkRejected(challenge.error);
  }
  if (challenge.link !== 'challenge') {
    socket.destroy();
    throw new HubNotProven(`it answered the hello with a ${challenge.link}, not a challenge`);
  }
  const proofs = linkProofs(key, { boardNonce, hubNonce: challenge.nonce, hello });
  if (!proofEquals(challenge.proof, proofs.hub)) {
    socket.destroy();
    throw new HubNotProven('its proof is wrong');
  }
  socket.write(encodeFrame({ link: 'auth', proof: proofs.board }));
  return linkSeal(key, { boardNonce, hubNonce: challenge.nonce }, 'board');
}
