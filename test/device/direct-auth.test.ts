// Direct-mode challenge and response and sealed connections (protocol.md §8.1), on the TypeScript
// board and client, over real sockets: the crypto.json vectors end to end, replays, lines changed
// on the path, a device posing as the board, and board configs that must say `auth`.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { connect, TetherError, type TetherEvent } from '../../src/client/index.js';
import { ManualClock } from '../../src/common/clock.js';
import { ConfigError, loadBoardConfig, parseBoardConfig } from '../../src/device/config.js';
import type { Logger } from '../../src/device/logger.js';
import { openBoardWarning, startDevice } from '../../src/device/runtime.js';
import { createSimHardware, type SimHardware } from '../../src/device/sim/sim-hardware.js';
import { keyOfToken, LABELS, newNonce, proof, sessionKey, Sealer, Unsealer } from '../../src/protocol/auth.js';
import { encodeFrame, LineDecoder } from '../../src/protocol/framing.js';
import { LineClient } from '../support/line-client.js';
import { withLastChanged } from '../support/near-miss-token.js';
import { TapProxy } from '../support/tap-proxy.js';
import { VECTOR_DIR } from '../support/vectors.js';

interface SealedPair {
  frame: string;
  sealed: string;
}

interface DirectVectors {
  token: string;
  client_nonce: string;
  board_nonce: string;
  client_proof: string;
  board_proof: string;
  session_key: string;
  client_to_board: SealedPair[];
  board_to_client: SealedPair[];
}

const D = (JSON.parse(readFileSync(join(VECTOR_DIR, 'crypto.json'), 'utf8')) as { direct: DirectVectors }).direct;
const TOKEN = 'shed-admin-token-0123456789';
const NL = Buffer.from('\n');
const SEALED = /^\{"mac":"[0-9a-f]{32}",/;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface TestBoard {
  port: number;
  clock: ManualClock;
  hardware: SimHardware;
  warnings: string[];
}

/** A board on the manual clock with outputs on pins 2 and 3, and `auth` as given. */
async function startBoard(auth: unknown, options: { newNonce?: () => string; maxFrameBytes?: number } = {}): Promise<TestBoard> {
  const clock = new ManualClock();
  const config = parseBoardConfig({
    name: 'shed',
    auth,
    max_frame_bytes: options.maxFrameBytes ?? 65_536,
    pins: [
      { pin: 2, mode: 'output', value: 0 },
      { pin: 3, mode: 'output', value: 0 },
    ],
  });
  const hardware = createSimHardware(config, clock);
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
  const device = await startDevice({ config, hardware, clock, logger, host: '127.0.0.1', port: 0, ...(options.newNonce ? { newNonce: options.newNonce } : {}) });
  cleanups.push(() => device.close());
  return { port: device.port, clock, hardware, warnings };
}

const tokens = (token: string) => ({ tokens: [{ token, scope: 'admin' }] });

async function tap(port: number): Promise<TapProxy> {
  const proxy = await TapProxy.start(port);
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A raw connection that runs the challenge and response by hand, with the primitives, then seals. */
async function sealedRaw(port: number, token: string) {
  const c = await LineClient.connect(port);
  cleanups.push(() => c.close());
  const mine = newNonce();
  const theirs = String((await c.request({ action: 'challenge', nonce: mine }))['nonce']);
  const key = keyOfToken(token);
  const reply = await c.request({ action: 'auth', proof: proof(key, LABELS.direct.client, mine, theirs), seal: true });
  assert.equal(reply['board_proof'], proof(key, LABELS.direct.board, mine, theirs));
  const ks = sessionKey(key, LABELS.direct.session, mine, theirs);
  const sealer = new Sealer(ks, LABELS.direct.toBoard);
  const unsealer = new Unsealer(ks, LABELS.direct.toClient);
  const next = async () => {
    const line = await c.nextLine();
    assert.match(line, SEALED);
    return JSON.parse(unsealer.open(Buffer.from(line, 'utf8')).toString('utf8')) as Record<string, unknown>;
  };
  const send = (message: object) => c.write(Buffer.concat([sealer.seal(JSON.stringify(message)), NL]));
  return { c, reply, next, send, request: async (message: object) => (await send(message), next()) };
}

function isCode(code: string, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TetherError, `expected a TetherError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  };
}

async function first(events: AsyncIterable<TetherEvent>): Promise<TetherEvent> {
  for await (const event of events) return event;
  throw new Error('the event stream ended');
}

describe('security: direct-mode challenge and response (protocol.md §8.1)', { timeout: 60_000 }, () => {
  test('security: the SDK and the board reproduce crypto.json direct byte for byte, end to end', async () => {
    const board = await startBoard(tokens(D.token), { newNonce: () => D.board_nonce });
    const path = await tap(board.port);
    await board.clock.advance(1000); // the vector's lease expires at ts 6000
    const client = await connect({ host: '127.0.0.1', port: path.port, token: D.token, newNonce: () => D.client_nonce });
    cleanups.push(() => client.close());
    const events = client.events();
    assert.deepEqual(await client.writePin(2, 1, { timeout: 5 }), { value: 1, safeValue: 0, expiresInS: 5 });
    await board.clock.advance(5000);
    const expired = await first(events);
    assert.deepEqual(expired, JSON.parse(D.board_to_client[1]?.frame ?? ''));
    assert.equal(board.hardware.gpio.level(2), 0);
    const [read] = await client.send([{ action: 'read_pin', pin: 2, id: 7 }]);
    assert.equal(read?.['value'], 0);

    const up = path.lines('up');
    const down = path.lines('down');
    assert.equal(up[0], JSON.stringify({ action: 'challenge', nonce: D.client_nonce }));
    assert.equal(down[0], JSON.stringify({ action: 'challenge', nonce: D.board_nonce, ok: true }));
    assert.equal(up[1], JSON.stringify({ action: 'auth', proof: D.client_proof, seal: true }));
    assert.equal(down[1], JSON.stringify({ action: 'auth', proof: '***', seal: true, scope: 'admin', board_proof: D.board_proof, ok: true }));
    assert.equal(up[2], D.client_to_board[0]?.sealed);
    assert.equal(down[2], D.board_to_client[0]?.sealed);
    assert.equal(up[3], D.client_to_board[1]?.sealed);
    // This runtime orders an event's fields its own way; the seal is the vector's key and numbering.
    const check = new Unsealer(Buffer.from(D.session_key, 'hex'), LABELS.direct.toClient);
    check.open(Buffer.from(down[2] ?? ''));
    assert.deepEqual(JSON.parse(check.open(Buffer.from(down[3] ?? '')).toString('utf8')), JSON.parse(D.board_to_client[1]?.frame ?? ''));
    assert.equal(up.length, 4);
    await assert.rejects(client.authenticate(D.token), isCode('unsupported', /sealed/));
    assert.equal(path.lines('up').length, 4, 'a sealed client does not start another handshake');
  });

  test('security: the SDK takes the board side of crypto.json direct as sent and sends its own side byte for byte', async () => {
    const received: string[] = [];
    const sockets = new Set<net.Socket>();
    const script = (line: string, socket: net.Socket) => {
      received.push(line);
      const send = (text: string) => socket.write(`${text}\n`);
      if (received.length === 1) send(JSON.stringify({ action: 'challenge', nonce: D.board_nonce, ok: true }));
      if (received.length === 2) send(JSON.stringify({ action: 'auth', proof: '***', seal: true, scope: 'admin', board_proof: D.board_proof, ok: true }));
      if (received.length === 3) for (const { sealed } of D.board_to_client) send(sealed);
      if (received.length === 4) {
        const sealer = new Sealer(Buffer.from(D.session_key, 'hex'), LABELS.direct.toClient);
        for (const { frame, sealed } of D.board_to_client) assert.equal(sealer.seal(frame).toString('utf8'), sealed);
        send(sealer.seal(JSON.stringify({ action: 'read_pin', pin: 2, id: 7, value: 0, ok: true })).toString('utf8'));
      }
    };
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      const decoder = new LineDecoder(1 << 16);
      socket.on('data', (chunk: Buffer) => decoder.push(chunk, { frame: (bytes) => script(bytes.toString('utf8'), socket), oversize: () => socket.destroy() }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const client = await connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, token: D.token, newNonce: () => D.client_nonce });
    cleanups.push(() => client.close());
    const events = client.events();
    assert.deepEqual(await client.writePin(2, 1, { timeout: 5 }), { value: 1, safeValue: 0, expiresInS: 5 });
    assert.deepEqual(await first(events), JSON.parse(D.board_to_client[1]?.frame ?? ''));
    const [read] = await client.send([{ action: 'read_pin', pin: 2, id: 7 }]);
    assert.equal(read?.['value'], 0);
    assert.deepEqual(received, [
      JSON.stringify({ action: 'challenge', nonce: D.client_nonce }),
      JSON.stringify({ action: 'auth', proof: D.client_proof, seal: true }),
      D.client_to_board[0]?.sealed,
      D.client_to_board[1]?.sealed,
    ]);
  });

  test('security: a proof captured on one connection is refused on another', async () => {
    const board = await startBoard(tokens(TOKEN));
    const path = await tap(board.port);
    const client = await connect({ host: '127.0.0.1', port: path.port, token: TOKEN });
    await client.close();
    const [challengeLine, authLine] = path.lines('up');
    assert.ok(challengeLine !== undefined && authLine !== undefined);
    const capturedBoardNonce = (JSON.parse(path.lines('down')[0] ?? '{}') as Record<string, unknown>)['nonce'];

    // Without its challenge: refused, and (it asked for a seal) the connection closes.
    const unasked = await LineClient.connect(board.port);
    cleanups.push(() => unasked.close());
    await unasked.write(`${authLine}\n`);
    const refusal = (await unasked.next())['error'] as Record<string, unknown>;
    assert.equal(refusal['code'], 'unauthorized');
    assert.match(String(refusal['message']), /send \{"action":"challenge"/);
    await unasked.waitClosed();
    // After the same client nonce: the board answers with a new nonce, so the old proof is wrong.
    const thief = await LineClient.connect(board.port);
    cleanups.push(() => thief.close());
    await thief.write(`${challengeLine}\n`);
    assert.notEqual((await thief.next())['nonce'], capturedBoardNonce);
    await thief.write(`${authLine}\n`);
    assert.equal(((await thief.next())['error'] as Record<string, unknown>)['code'], 'unauthorized');
    await thief.waitClosed();
    const after = await LineClient.connect(board.port);
    cleanups.push(() => after.close());
    assert.equal(((await after.request({ action: 'get_state' }))['error'] as Record<string, unknown>)['code'], 'unauthorized');
  });

  test('security: a line changed, injected or replayed on a sealed connection closes it, and nothing in it runs', async () => {
    const board = await startBoard(tokens(TOKEN));
    const path = await tap(board.port);
    const open = async () => {
      const client = await connect({ host: '127.0.0.1', port: path.port, token: TOKEN, timeoutMs: 2000 });
      cleanups.push(() => client.close());
      return client;
    };

    // Changed on the way: the write to pin 2 arrives as a write to pin 3.
    const altered = await open();
    path.rewriteNext('up', (line) => Buffer.from(line.toString('utf8').replace('"pin":2', '"pin":3')));
    await assert.rejects(altered.writePin(2, 1, { timeout: 5 }), isCode('connection_closed'));
    assert.deepEqual([board.hardware.gpio.level(2), board.hardware.gpio.level(3)], [0, 0]);
    assert.ok(board.warnings.some((w) => /failed its MAC/.test(w)), board.warnings.join('\n'));

    // Injected: a plain request between two of the client's sealed ones.
    const injected = await open();
    await injected.ping();
    path.inject('up', encodeFrame({ action: 'write_pin', pin: 3, value: 1, timeout: 5 }));
    await injected.closed;
    assert.equal(board.hardware.gpio.level(3), 0);
    assert.ok(board.warnings.some((w) => /is not sealed/.test(w)), board.warnings.join('\n'));

    // Replayed: the client's own sealed write, sent again after it set the pin back.
    const replayed = await open();
    await replayed.writePin(2, 1, { timeout: 5 });
    const write = path.lines('up').at(-1) ?? '';
    assert.match(write, SEALED);
    await replayed.writePin(2, 0);
    path.inject('up', `${write}\n`);
    await replayed.closed;
    assert.equal(board.hardware.gpio.level(2), 0, 'the replayed write never ran');

    // The board's way too: a reply changed on the path closes the client's side.
    const reading = await open();
    path.rewriteNext('down', (line) => Buffer.from(line.toString('utf8').replace('"value":0', '"value":1')));
    await assert.rejects(reading.readPin(3), isCode('connection_closed', /failed its MAC/));
  });

  test('security: a device that cannot prove the token makes connect fail, and nothing but the proof is sent to it', async () => {
    for (const [what, boardProof] of [
      ['a guessed board proof', 'ab'.repeat(32)],
      ['no board proof', undefined],
      ['the board proof of a token one character off', 'near-miss'],
    ] as const) {
      const received: Record<string, unknown>[] = [];
      let raw = '';
      const sockets = new Set<net.Socket>();
      const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => undefined);
        const decoder = new LineDecoder(1 << 16);
        let nonces: [string, string] | undefined;
        socket.on('data', (chunk: Buffer) => {
          raw += chunk.toString('utf8');
          decoder.push(chunk, {
            frame: (bytes) => {
              const request = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
              received.push(request);
              if (request['action'] === 'challenge') {
                nonces = [String(request['nonce']), newNonce()];
                socket.write(encodeFrame({ ...request, nonce: nonces[1], ok: true }));
              } else if (request['action'] === 'auth' && nonces !== undefined) {
                const given = boardProof === 'near-miss' ? proof(keyOfToken(withLastChanged(TOKEN)), LABELS.direct.board, ...nonces) : boardProof;
                socket.write(encodeFrame({ ...request, proof: '***', scope: 'admin', ...(given === undefined ? {} : { board_proof: given }), ok: true }));
              }
            },
            oversize: () => socket.destroy(),
          });
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        await assert.rejects(
          connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, token: TOKEN }),
          isCode('board_unverified', /could not prove that it knows the token/),
          what,
        );
        assert.deepEqual(received.map((r) => r['action']), ['challenge', 'auth'], what);
        assert.ok(!raw.includes(TOKEN), `${what}: the token never crossed`);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }
  });

  test('security: auth with a proof: nonces used up, one of token or proof, a failed seal closes, a sealed connection stays sealed', async () => {
    const board = await startBoard(tokens(TOKEN), { maxFrameBytes: 256 });
    const key = keyOfToken(TOKEN);
    const c = await LineClient.connect(board.port);
    cleanups.push(() => c.close());
    const errorOf = (reply: Record<string, unknown>) => reply['error'] as { code: string; message: string };

    assert.equal(errorOf(await c.request({ action: 'list_actions' })).code, 'unauthorized');
    const both = await c.request({ action: 'auth', token: TOKEN, proof: 'a'.repeat(64) });
    assert.deepEqual([both['token'], both['proof'], errorOf(both).code], ['***', '***', 'bad_field']);
    // A near miss, then the right proof for the same, used-up nonces.
    const mine = newNonce();
    const theirs = String((await c.request({ action: 'challenge', nonce: mine }))['nonce']);
    const wrong = await c.request({ action: 'auth', proof: proof(keyOfToken(withLastChanged(TOKEN)), LABELS.direct.client, mine, theirs) });
    assert.equal(errorOf(wrong).code, 'unauthorized');
    const late = await c.request({ action: 'auth', proof: proof(key, LABELS.direct.client, mine, theirs) });
    assert.match(errorOf(late).message, /challenge/);
    assert.equal(errorOf(await c.request({ action: 'get_state' })).code, 'unauthorized', 'no scope from any of them');
    // Plain auth cannot seal, and asking it to closes the connection after the reply.
    assert.equal(errorOf(await c.request({ action: 'auth', token: TOKEN, seal: true })).code, 'bad_field');
    await c.waitClosed();

    const failing = await LineClient.connect(board.port);
    cleanups.push(() => failing.close());
    await failing.request({ action: 'challenge', nonce: newNonce() });
    assert.equal(errorOf(await failing.request({ action: 'auth', proof: 'b'.repeat(64), seal: true })).code, 'unauthorized');
    await failing.waitClosed();

    const s = await sealedRaw(board.port, TOKEN);
    assert.deepEqual([s.reply['proof'], s.reply['scope']], ['***', 'admin']);
    assert.ok(((await s.request({ action: 'list_actions' }))['actions'] as string[]).includes('challenge'));
    assert.equal(errorOf(await s.request({ action: 'challenge', nonce: newNonce() })).code, 'unsupported');
    assert.equal(errorOf(await s.request({ action: 'auth', token: TOKEN })).code, 'unsupported');
    assert.equal((await s.request({ action: 'write_pin', pin: 2, value: 1, timeout: 1 }))['ok'], true);
    await board.clock.advance(1000);
    assert.deepEqual(await s.next(), { event: 'lease_expired', seq: 1, ts: 1000, pin: 2, value: 0, held: 1 });
    assert.equal((await s.request({ action: 'read_pin', pin: 2 }))['value'], 0);
    // A line too long to check gets its (sealed) reply, then the connection closes.
    await s.send({ action: 'ping', pad: 'x'.repeat(300) });
    assert.equal(errorOf(await s.next()).code, 'frame_too_large');
    await s.c.waitClosed();
  });

  test('security: a board without tokens cannot prove one, and says so', async () => {
    const board = await startBoard('none');
    await assert.rejects(connect({ host: '127.0.0.1', port: board.port, token: TOKEN }), isCode('unauthorized', /auth: none/));
    const open = await connect({ host: '127.0.0.1', port: board.port });
    cleanups.push(() => open.close());
    assert.equal(await open.readPin(2), 0);
  });
});

describe('security: a board config says who may drive the board', { timeout: 30_000 }, () => {
  test('security: a config with neither tokens nor auth: none is refused at start, naming both fixes', async () => {
    const config = parseBoardConfig({ name: 'forgot', pins: [{ pin: 2, mode: 'output', value: 0 }] });
    const clock = new ManualClock();
    const refused = await startDevice({ config, hardware: createSimHardware(config, clock), clock, host: '127.0.0.1', port: 0 }).catch((err: unknown) => err);
    assert.ok(refused instanceof ConfigError, String(refused));
    assert.match(refused.message, /auth: missing/);
    assert.match(refused.message, /auth\.tokens/);
    assert.match(refused.message, /"auth: none"/);

    const dir = mkdtempSync(join(tmpdir(), 'tether-auth-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'forgot.yaml');
    writeFileSync(file, 'name: forgot\npins: [{ pin: 2, mode: output }]\n');
    await assert.rejects(loadBoardConfig(file), /forgot\.yaml: the board config is not valid:\n {2}- auth: missing/);
    writeFileSync(file, 'name: forgot\nauth: {}\n');
    await assert.rejects(loadBoardConfig(file), /auth: expected "none", or tokens/);
    writeFileSync(file, 'name: open\nauth: none\n');
    assert.equal((await loadBoardConfig(file)).auth, 'none');
  });

  test('security: auth: none warns at start when the board listens off loopback, not on it', async () => {
    const open = parseBoardConfig({ name: 'open', auth: 'none' });
    assert.match(openBoardWarning(open, '0.0.0.0', 12345) ?? '', /auth: none and listens on 0\.0\.0\.0:12345: any client on its network may drive it/);
    assert.match(openBoardWarning(open, '::', 12345) ?? '', /\[::\]:12345/);
    assert.equal(openBoardWarning(open, '127.0.0.1', 12345), undefined);
    assert.equal(openBoardWarning(open, '::1', 12345), undefined);
    assert.equal(openBoardWarning(parseBoardConfig({ auth: tokens(TOKEN) }), '0.0.0.0', 12345), undefined);
    const board = await startBoard('none');
    assert.deepEqual(board.warnings, []);
  });
});
