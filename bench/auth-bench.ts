// npm run bench:auth — what the link's authentication (protocol.md §10.5) and sealed frames
// (§10.6) cost, each beside a baseline measured in the same run, with ratios:
//
//   1. the CPU of one handshake, in process: the hub's side (hello parsed, challenge made, auth
//      checked, seals derived, welcome sealed) and the board's, beside what link protocol 1 did
//      (parse the hello, hash the token, compare);
//   2. whole handshakes over loopback TCP against the real link server (both sides in this
//      process), beside a plain hello → welcome exchange on the same sockets;
//   3. sealing and opening a 200-byte frame, beside encoding and decoding it (what every frame
//      costs anyway).
//
//   node dist/bench/auth-bench.js [--quick]
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { SystemClock } from '../src/common/clock.js';
import { silentLogger } from '../src/device/logger.js';
import { startLinkServer } from '../src/hub/link-server.js';
import { answerChallenge } from '../src/link/authenticate.js';
import { readFirstMessage } from '../src/link/handshake.js';
import { keyOfToken, newNonce, proofEquals, Sealer, Unsealer } from '../src/protocol/auth.js';
import { decodeFrame } from '../src/protocol/codec.js';
import { encodeFrame } from '../src/protocol/framing.js';
import { encodeSealed, linkProofs, linkSeal } from '../src/protocol/link/link-auth.js';
import { parseLinkMessage } from '../src/protocol/link/messages.js';

const QUICK = process.argv.includes('--quick');
const N = { handshakes: QUICK ? 2_000 : 20_000, tcp: QUICK ? 200 : 1_000, frames: QUICK ? 20_000 : 200_000 };
const TOKEN = 'q0Nf3xV8cJ2mZ7pL1sW9tR4yB6hK0dE5aG3uI8oP2nM';
const KEY = keyOfToken(TOKEN);
const fmt = (us: number) => (us >= 100 ? us.toFixed(0) : us.toFixed(us >= 10 ? 1 : 2));

function hello(nonce: string): string {
  return JSON.stringify({
    link: 'hello', protocol: 2, device_id: 'greenhouse-1', nonce, boot_id: '6f1c2a0e-5b1d-4d0e-9a43-8f0c1e2d3b4a',
    firmware: 'tether-mpy 0.1.0', capabilities: ['gpio', 'leases', 'pwm', 'adc', 'i2c'], rx: { stream: 'a41e9f0c-1b2d-4e5f-8a9b-0c1d2e3f4a5b', last: 17 },
    uptime_ms: 5000, max_frame: 4096, keepalive_ms: 1000,
  });
}

/** µs per call of `fn`, after a warm-up, best of three runs. */
function perCall(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 1000); i++) fn(i);
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    for (let i = 0; i < n; i++) fn(i);
    best = Math.min(best, ((performance.now() - started) * 1000) / n);
  }
  return best;
}

function row(name: string, us: number, base: number): string {
  return `  ${name.padEnd(52)} ${fmt(us).padStart(9)}   ${(us / base).toFixed(2).padStart(6)}`;
}

// 1. One handshake's CPU, in process.
function handshakeCpu(): void {
  const hellos = Array.from({ length: 64 }, () => Buffer.from(hello(newNonce())));
  const oldHello = Buffer.from(JSON.stringify({ ...JSON.parse(hello(newNonce())), protocol: 1, token: TOKEN, nonce: undefined }));
  const stored = KEY.toString('hex');
  const baseline = perCall(N.handshakes, () => {
    const decoded = decodeFrame(oldHello);
    if (!decoded.ok) throw decoded.error;
    const token = String(decoded.message['token']);
    timingSafeEqual(keyOfToken(token), Buffer.from(stored, 'hex'));
  });
  const welcome = { link: 'welcome', protocol: 2, session: '0b9d8c7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e', keepalive_ms: 1000, outage_ms: 3500, stream: 'a41e', ack: 230 };
  // The board's part is done once per hello up front, so the hub's loop has a right auth to check.
  const prepared = hellos.map((bytes) => {
    const hubNonce = newNonce();
    const boardNonce = String((JSON.parse(bytes.toString()) as { nonce: string }).nonce);
    const proofs = linkProofs(KEY, { boardNonce, hubNonce, hello: bytes });
    return { bytes, boardNonce, hubNonce, auth: Buffer.from(JSON.stringify({ link: 'auth', proof: proofs.board })), challenge: Buffer.from(JSON.stringify({ link: 'challenge', nonce: hubNonce, proof: proofs.hub })) };
  });
  const hub = perCall(N.handshakes, (i) => {
    const p = prepared[i % prepared.length] as (typeof prepared)[number];
    const h = decodeFrame(p.bytes);
    if (!h.ok) throw h.error;
    const message = parseLinkMessage(h.message);
    const key = Buffer.from(stored, 'hex'); // keyOf: the stored hash is the key
    const hubNonce = newNonce();
    const proofs = linkProofs(key, { boardNonce: message.link === 'hello' ? message.nonce : '', hubNonce, hello: p.bytes });
    encodeFrame({ link: 'challenge', nonce: hubNonce, proof: proofs.hub });
    const a = decodeFrame(p.auth);
    if (!a.ok) throw a.error;
    const auth = parseLinkMessage(a.message);
    proofEquals(auth.link === 'auth' ? auth.proof : '', proofs.board); // false here (another hub nonce): the same work
    encodeSealed(linkSeal(key, { boardNonce: p.boardNonce, hubNonce }, 'hub').sealer, welcome);
  });
  const board = perCall(N.handshakes, (i) => {
    const p = prepared[i % prepared.length] as (typeof prepared)[number];
    Buffer.from(hello(newNonce()));
    const c = decodeFrame(p.challenge);
    if (!c.ok) throw c.error;
    const challenge = parseLinkMessage(c.message);
    const proofs = linkProofs(KEY, { boardNonce: p.boardNonce, hubNonce: challenge.link === 'challenge' ? challenge.nonce : '', hello: p.bytes });
    if (!proofEquals(challenge.link === 'challenge' ? challenge.proof : '', proofs.hub)) throw new Error('the prepared challenge does not check');
    encodeFrame({ link: 'auth', proof: proofs.board });
    linkSeal(KEY, { boardNonce: p.boardNonce, hubNonce: p.hubNonce }, 'board');
  });
  console.log(`\n1. one handshake's CPU, in process (${N.handshakes.toLocaleString('en-US')} each, best of 3)`);
  console.log(`  ${''.padEnd(52)} ${'µs'.padStart(9)}   / base`);
  console.log(row('link protocol 1: parse hello, hash token (baseline)', baseline, baseline));
  console.log(row('hub: hello, challenge, auth checked, seals, welcome', hub, baseline));
  console.log(row('board: challenge checked, auth, seals', board, baseline));
}

// 2. Whole handshakes over loopback TCP.
async function handshakesOverTcp(): Promise<void> {
  const clock = new SystemClock();
  const server = await startLinkServer({
    host: '127.0.0.1',
    port: 0,
    clock,
    logger: silentLogger,
    keyOf: () => Promise.resolve(KEY),
    keyChanges: () => 0,
    attach: (socket, _hello, seal) => {
      socket.end(encodeSealed(seal.sealer, { link: 'welcome', protocol: 2, session: 's', keepalive_ms: 1000, outage_ms: 3500, stream: 'a41e', ack: 0 }));
      return Promise.resolve();
    },
  });
  // The baseline: the same sockets, a hello and a welcome, no proofs.
  const plain = net.createServer((socket) => {
    socket.once('data', () => socket.end('{"link":"welcome","protocol":2,"session":"s","keepalive_ms":1000,"outage_ms":3500,"stream":"a41e","ack":0}\n'));
  });
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
  const plainPort = (plain.address() as net.AddressInfo).port;
  const dial = (port: number) =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
  const once = async (authenticated: boolean) => {
    const socket = await dial(authenticated ? server.port : plainPort);
    const nonce = newNonce();
    const bytes = Buffer.from(hello(nonce));
    socket.write(Buffer.concat([bytes, Buffer.from('\n')]));
    const timing = { clock, timeoutMs: 5000 };
    const seal = authenticated ? await answerChallenge(socket, KEY, nonce, bytes, timing) : undefined;
    const { message } = await readFirstMessage(socket, clock, 5000, 'welcome', seal !== undefined ? { unsealer: seal.unsealer } : {});
    if (message.link !== 'welcome') throw new Error(`got ${message.link}`);
    socket.destroy();
  };
  const measure = async (authenticated: boolean) => {
    for (let i = 0; i < 50; i++) await once(authenticated);
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < N.tcp; i++) await once(authenticated);
    const used = process.cpuUsage(cpu);
    return { wall: ((performance.now() - started) * 1000) / N.tcp, cpu: (used.user + used.system) / N.tcp };
  };
  const base = await measure(false);
  const auth = await measure(true);
  console.log(`\n2. whole handshakes over loopback TCP, one after another (${N.tcp.toLocaleString('en-US')} each; both sides in this process)`);
  console.log(`  ${''.padEnd(52)} ${'wall µs'.padStart(9)}   / base   ${'CPU µs'.padStart(9)}   / base`);
  for (const [name, m] of [
    ['plain hello → welcome (baseline)', base],
    ['hello, challenge, auth, sealed welcome', auth],
  ] as const) {
    console.log(`  ${name.padEnd(52)} ${fmt(m.wall).padStart(9)}   ${(m.wall / base.wall).toFixed(2).padStart(6)}   ${fmt(m.cpu).padStart(9)}   ${(m.cpu / base.cpu).toFixed(2).padStart(6)}`);
  }
  await server.close();
  await new Promise<void>((r) => plain.close(() => r()));
}

// 3. Sealing and opening 200-byte frames.
function frames(): void {
  const body = { event: 'reading', ts: 123456, boot_id: '6f1c2a0e', sensor: 'greenhouse-air', values: { temperature: 23.51, humidity: 61.2 } };
  const message = { link: 'msg', seq: 4711, ack: 230, body: { ...body, pad: '' } };
  message.body.pad = 'x'.repeat(Math.max(0, 200 - Buffer.byteLength(JSON.stringify(message))));
  const text = JSON.stringify(message);
  const bytes = Buffer.byteLength(text);
  const baseline = perCall(N.frames, () => {
    const decoded = decodeFrame(Buffer.from(encodeFrame(message).slice(0, -1)));
    if (!decoded.ok) throw decoded.error;
  });
  const ks = Buffer.alloc(32, 7);
  const sealer = new Sealer(ks, 'b2h');
  const seal = perCall(N.frames, () => sealer.seal(text));
  // The receiving side opens a connection's frames in order from 0: a stream of 1,024, opened again and again.
  const stream = ((s) => Array.from({ length: 1024 }, () => s.seal(text)))(new Sealer(ks, 'b2h'));
  let opener = new Unsealer(ks, 'b2h');
  const open = perCall(N.frames, (i) => {
    if (i % 1024 === 0) opener = new Unsealer(ks, 'b2h');
    opener.open(stream[i % 1024] as Buffer);
  });
  console.log(`\n3. sealed frames: a ${bytes}-byte frame (${N.frames.toLocaleString('en-US')} each, best of 3)`);
  console.log(`  ${''.padEnd(52)} ${'µs'.padStart(9)}   / base`);
  console.log(row('encode + decode the frame (baseline)', baseline, baseline));
  console.log(row('seal', seal, baseline));
  console.log(row('open (check the MAC)', open, baseline));
  console.log(row('seal + open', seal + open, baseline));
}

console.log(`npm run bench:auth — node ${process.version}${QUICK ? ', --quick' : ''}`);
handshakeCpu();
await handshakesOverTcp();
frames();
