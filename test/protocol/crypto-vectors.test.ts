// test/vectors/crypto.json, byte for byte (protocol.md §8.1, §10.5, §10.6): the TypeScript
// runtime recomputes every key, digest, proof, session key and sealed line from the inputs the
// file gives, opens every sealed line on the receiving side, and refuses every `refused` line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { frameDigest, keyOfToken, LABELS, proof, SealError, Sealer, sessionKey, Unsealer } from '../../src/protocol/auth.js';
import { linkProofs, linkSeal } from '../../src/protocol/link/link-auth.js';

interface Sealed {
  frame: string;
  sealed: string;
}

interface CryptoVectors {
  hmac_sha256: Array<{ key_text: string; data_text: string; hex: string }>;
  link: {
    token: string;
    key: string;
    board_nonce: string;
    hub_nonce: string;
    hello: string;
    hello_digest: string;
    hub_proof: string;
    board_proof: string;
    session_key: string;
    hub_to_board: Sealed[];
    board_to_hub: Sealed[];
  };
  direct: {
    token: string;
    key: string;
    client_nonce: string;
    board_nonce: string;
    client_proof: string;
    board_proof: string;
    session_key: string;
    client_to_board: Sealed[];
    board_to_client: Sealed[];
  };
  refused: { lines: Array<{ why: string; line: string }> };
}

const V = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'test', 'vectors', 'crypto.json'), 'utf8')) as CryptoVectors;

/** Seals each frame in order and checks the line; then opens each line on the other side and gets the frame back. */
function assertSealedStream(key: Buffer, direction: string, cases: Sealed[], sealer = new Sealer(key, direction), unsealer = new Unsealer(key, direction)): void {
  assert.ok(cases.length >= 2, 'a stream, so the numbering is tested');
  for (const [i, c] of cases.entries()) {
    assert.equal(sealer.seal(c.frame).toString('utf8'), c.sealed, `${direction} frame ${i} sealed`);
    assert.equal(unsealer.open(Buffer.from(c.sealed, 'utf8')).toString('utf8'), c.frame, `${direction} frame ${i} opened`);
  }
}

describe('crypto vectors (test/vectors/crypto.json)', { timeout: 30_000 }, () => {
  test('HMAC-SHA256 (RFC 4231 case 2) through proof()', () => {
    for (const c of V.hmac_sha256) assert.equal(proof(Buffer.from(c.key_text, 'utf8'), c.data_text), c.hex);
  });

  test('link: key, hello digest, both proofs and the session key', () => {
    const L = V.link;
    const key = keyOfToken(L.token);
    assert.equal(key.toString('hex'), L.key);
    assert.equal(frameDigest(Buffer.from(L.hello, 'utf8')), L.hello_digest);
    assert.equal(frameDigest(L.hello), L.hello_digest, 'a string and its UTF-8 bytes give the same digest');
    const transcript = { boardNonce: L.board_nonce, hubNonce: L.hub_nonce, hello: Buffer.from(L.hello, 'utf8') };
    assert.deepEqual(linkProofs(key, transcript), { hub: L.hub_proof, board: L.board_proof });
    assert.equal(proof(key, LABELS.link.hub, L.board_nonce, L.hub_nonce, L.hello_digest), L.hub_proof);
    assert.equal(proof(key, LABELS.link.board, L.board_nonce, L.hub_nonce, L.hello_digest), L.board_proof);
    assert.equal(sessionKey(key, LABELS.link.session, L.board_nonce, L.hub_nonce).toString('hex'), L.session_key);
  });

  test('link: every sealed line, both directions, as each side seals and opens them', () => {
    const L = V.link;
    const ks = Buffer.from(L.session_key, 'hex');
    assertSealedStream(ks, LABELS.link.toBoard, L.hub_to_board);
    assertSealedStream(ks, LABELS.link.toHub, L.board_to_hub);
    // The same through the seals each side derives from the key and the nonces.
    const key = keyOfToken(L.token);
    const nonces = { boardNonce: L.board_nonce, hubNonce: L.hub_nonce };
    const hub = linkSeal(key, nonces, 'hub');
    const board = linkSeal(key, nonces, 'board');
    assertSealedStream(ks, 'h2b', L.hub_to_board, hub.sealer, board.unsealer);
    assertSealedStream(ks, 'b2h', L.board_to_hub, board.sealer, hub.unsealer);
  });

  test('direct: key, both proofs, the session key and every sealed line', () => {
    const D = V.direct;
    const key = keyOfToken(D.token);
    assert.equal(key.toString('hex'), D.key);
    assert.equal(proof(key, LABELS.direct.client, D.client_nonce, D.board_nonce), D.client_proof);
    assert.equal(proof(key, LABELS.direct.board, D.client_nonce, D.board_nonce), D.board_proof);
    const ks = sessionKey(key, LABELS.direct.session, D.client_nonce, D.board_nonce);
    assert.equal(ks.toString('hex'), D.session_key);
    assertSealedStream(ks, LABELS.direct.toBoard, D.client_to_board);
    assertSealedStream(ks, LABELS.direct.toClient, D.board_to_client);
  });

  test('refused: every line is refused as the first board-to-hub frame, and the next right one still opens', () => {
    const ks = Buffer.from(V.link.session_key, 'hex');
    assert.ok(V.refused.lines.length >= 6);
    for (const { why, line } of V.refused.lines) {
      const unsealer = new Unsealer(ks, LABELS.link.toHub);
      assert.throws(() => unsealer.open(Buffer.from(line, 'utf8')), SealError, why);
      // A refused line does not move the numbering: frame 0 is still expected.
      const first = V.link.board_to_hub[0] as Sealed;
      assert.equal(unsealer.open(Buffer.from(first.sealed, 'utf8')).toString('utf8'), first.frame, `after: ${why}`);
    }
  });
});
