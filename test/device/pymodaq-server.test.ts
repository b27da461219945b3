// The PyMoDAQ server in process, on the ManualClock: PyMoDAQ's writes held while it talks and
// ended by the board when it goes quiet, another writer taking over, scopes, the digital
// mapping, and the ZeroMQ framing (REQ, DEALER, dropped messages), through node's zeromq
// sockets. The Python clients that behave as the plugin does are in test/device/pymodaq/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/common/clock.js';
import { parseBoardConfig } from '../../src/device/config.js';
import { silentLogger, type Logger } from '../../src/device/logger.js';
import { startDevice, type RunningDevice } from '../../src/device/runtime.js';
import { createSimHardware } from '../../src/device/sim/sim-hardware.js';
import { loadZeromq, type ZmqSocket } from '../../src/device/transport/zeromq-module.js';
import type { BoardEvent } from '../../src/protocol/events.js';

const HOLD_S = 2;
// Loaded as the board loads it: the package is optional, and its types are not needed to build.
const zmq = await loadZeromq();

function benchConfig(extra: Record<string, unknown> = {}): unknown {
  return {
    name: 'pmq',
    auth: 'none',
    i2c: [{ bus: 1 }, { bus: 3 }],
    actuators: [
      { name: 'fan', driver: 'pwm', pin: 18, safe_value: 0, options: { freq: 25000 } },
      { name: 'heater', driver: 'pwm', pin: 23, safe_value: 0, max_lease_s: 600, options: { freq: 100 } },
      { name: 'relay', driver: 'digital', pin: 5, safe_value: 0 },
    ],
    sensors: [
      { name: 't_heater', driver: 'tmp102', bus: 1, address: 0x48 },
      { name: 't_emc', driver: 'emc2101', bus: 1, address: 0x4c },
      { name: 't_plate', driver: 'pt100_ads1115', bus: 3, address: 0x48 },
    ],
    pymodaq: { hold_s: HOLD_S, addresses: { t_plate: 0x4d } },
    ...extra,
  };
}

interface Running {
  device: RunningDevice;
  clock: ManualClock;
  endpoint: string;
  events: BoardEvent[];
  logs: string[];
  close(): Promise<void>;
}

/**
 * Moves the clock 5 ms every few real milliseconds, so that sensor conversions (the ADS1115's
 * wait) finish; stopped, the clock moves only when a test says.
 */
function pump(clock: ManualClock): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void clock.advance(5).finally(() => (busy = false));
  }, 2);
  return () => clearInterval(timer);
}

async function start(raw: unknown = benchConfig()): Promise<Running> {
  const clock = new ManualClock();
  const config = parseBoardConfig(raw);
  const logs: string[] = [];
  const logger: Logger = { ...silentLogger, info: (m) => void logs.push(m), warn: (m) => void logs.push(m), error: (m) => void logs.push(`error: ${m}`) };
  const stop = pump(clock);
  let device: RunningDevice;
  try {
    device = await startDevice({ config, hardware: createSimHardware(config, clock), clock, logger, host: '127.0.0.1', port: 0, pymodaqPort: 0 });
  } finally {
    stop();
  }
  const events: BoardEvent[] = [];
  device.board.onEvent((e) => void events.push(e));
  const pymodaq = device.listeners.find((l) => l.id === 'pymodaq');
  assert.ok(pymodaq, 'the config has pymodaq:, so the runtime started its listener');
  return { device, clock, endpoint: `tcp://127.0.0.1:${pymodaq.port}`, events, logs, close: () => device.close() };
}

/** A DEALER as PyMoDAQ's ZMQLink opens it: its own identity, bounded waits, no linger. */
class Dealer {
  readonly socket: ZmqSocket;
  constructor(endpoint: string, identity = `dealer-${Math.random().toString(16).slice(2)}`) {
    this.socket = new zmq.Dealer({ routingId: identity, receiveTimeout: 2000, linger: 0 });
    this.socket.connect(endpoint);
  }

  async ask(request: unknown): Promise<{ state: string; value: unknown }> {
    await this.socket.send(typeof request === 'string' || Buffer.isBuffer(request) ? request : JSON.stringify(request));
    const [reply] = await this.socket.receive();
    return JSON.parse(String(reply)) as { state: string; value: unknown };
  }

  close(): void {
    this.socket.close();
  }
}

/** Whether the socket gets no message within ms (a dropped request). */
async function nothingWithin(socket: ZmqSocket, ms: number): Promise<boolean> {
  socket.receiveTimeout = ms;
  try {
    await socket.receive();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code === 'EAGAIN') return true;
    throw err;
  } finally {
    socket.receiveTimeout = 2000;
  }
}

const leaseOf = (r: Running, _pin: number) => r.device.board.state()['leases'] as Array<{ pin: number; value: number; expires_in_s: number }>;
const heaterLease = (r: Running) => leaseOf(r, 23).find((l) => l.pin === 23);

describe('PyMoDAQ server: leases held while PyMoDAQ talks', { timeout: 60_000 }, () => {
  let r: Running;
  let viewer: Dealer;
  let move: Dealer;
  before(async () => {
    r = await start();
    viewer = new Dealer(r.endpoint);
    move = new Dealer(r.endpoint);
  });
  after(async () => {
    viewer.close();
    move.close();
    await r.close();
  });

  test("a PI is a lease of hold_s that any PyMoDAQ client's requests renew; silence ends it, with lease_expired and a log line", async () => {
    assert.deepEqual(await move.ask({ type: 'PI', register: 'pin', pin: '23', value: 200.0 }), { state: 'ACK', value: 200 });
    assert.equal(heaterLease(r)?.value, 200 / 255);
    assert.equal(heaterLease(r)?.expires_in_s, HOLD_S);
    // DAQ_Move goes quiet; the 0D viewer keeps grabbing on another socket, for three holds' time.
    for (let t = 0; t < 3 * HOLD_S * 1000; t += 500) {
      await r.clock.advance(500);
      assert.deepEqual(await viewer.ask({ type: 'AQ', register: 'pin', pin: 23 }), { state: 'ACK', value: 200 }, `at ${t + 500} ms the heater is still held`);
    }
    assert.deepEqual(r.events.filter((e) => e.event === 'lease_expired'), []);
    await r.clock.advance(HOLD_S * 1000 - 1);
    assert.ok(heaterLease(r) !== undefined, 'not yet: the last renewal was within hold_s');
    await r.clock.advance(1000);
    assert.equal(heaterLease(r), undefined);
    assert.deepEqual(
      r.events.filter((e) => e.event === 'lease_expired').map((e) => ({ pin: e['pin'], name: e['name'], value: e['value'] })),
      [{ pin: 23, name: 'heater', value: 0 }],
    );
    assert.ok(r.logs.some((l) => l.includes('PyMoDAQ has been silent for 2 s: heater (pin 23)')), r.logs.join('\n'));
    assert.deepEqual(await move.ask({ type: 'AQ', register: 'pin', pin: '23' }), { state: 'ACK', value: 0 }, "DAQ_Move's next read sees the safe value");
    // Talking again does not bring it back.
    await r.clock.advance(HOLD_S * 1000);
    assert.deepEqual(await viewer.ask({ type: 'AQ', register: 'pin', pin: 23 }), { state: 'ACK', value: 0 });
  });

  test('a PI of the safe value ends the lease at once', async () => {
    await move.ask({ type: 'PI', register: 'pin', pin: 18, value: 128 });
    assert.ok(leaseOf(r, 18).some((l) => l.pin === 18));
    assert.deepEqual(await move.ask({ type: 'PI', register: 'pin', pin: 18, value: 0 }), { state: 'ACK', value: 0 });
    assert.equal(leaseOf(r, 18).find((l) => l.pin === 18), undefined);
  });

  test("another client's write takes the pin over: PyMoDAQ stops renewing, and that writer's lease rules", async () => {
    await move.ask({ type: 'PI', register: 'pin', pin: 23, value: 100 });
    await r.clock.advance(300);
    r.device.board.pwm(23, 100, 0.5, 5);
    for (let i = 0; i < 4; i++) {
      await r.clock.advance(1000);
      await viewer.ask({ type: 'scan' });
    }
    assert.deepEqual(heaterLease(r) && { value: heaterLease(r)?.value, left: heaterLease(r)?.expires_in_s }, { value: 0.5, left: 1 }, 'the 5 s lease runs down untouched');
    await r.clock.advance(1000);
    await viewer.ask({ type: 'scan' });
    assert.equal(heaterLease(r), undefined, 'and nobody renewed it');
    // Taken over before any renewal noticed: the other writer's lease ending is not PyMoDAQ's silence.
    const silent = () => r.logs.filter((l) => l.startsWith('PyMoDAQ has been silent')).length;
    const before = silent();
    await move.ask({ type: 'PI', register: 'pin', pin: 23, value: 100 });
    r.device.board.pwm(23, 100, 0.5, 1);
    await r.clock.advance(1000);
    assert.equal(heaterLease(r), undefined);
    assert.equal(silent(), before, 'no "PyMoDAQ has been silent" line for a lease that was not its own');
  });

  test('a renewal comes once hold_s/10 has passed since the last, not before', async () => {
    await move.ask({ type: 'PI', register: 'pin', pin: 23, value: 50 });
    await r.clock.advance(199);
    await viewer.ask({ type: 'scan' });
    assert.equal(heaterLease(r)?.expires_in_s, 1.801, 'not renewed 199 ms after the write');
    await r.clock.advance(1);
    await viewer.ask({ type: 'scan' });
    assert.equal(heaterLease(r)?.expires_in_s, HOLD_S, 'renewed at 200 ms, a tenth of hold_s');
    await move.ask({ type: 'PI', register: 'pin', pin: 23, value: 0 });
  });

  test('a write of the same value with another lease is another writer too; a lease ended by a safe write is let go without error', async () => {
    await move.ask({ type: 'PI', register: 'pin', pin: 23, value: 200 });
    r.device.board.pwm(23, 100, 200 / 255, 5);
    await r.clock.advance(300);
    await viewer.ask({ type: 'scan' });
    await r.clock.advance(3000);
    await viewer.ask({ type: 'scan' });
    assert.equal(heaterLease(r)?.expires_in_s, 1.7, "the other writer's 5 s lease runs down, never renewed to hold_s");
    await move.ask({ type: 'PI', register: 'pin', pin: 18, value: 90 });
    r.device.board.pwm(18, 25000, 0, undefined);
    await r.clock.advance(1000);
    await viewer.ask({ type: 'scan' });
    await r.clock.advance(5000);
    await viewer.ask({ type: 'scan' });
    assert.deepEqual(r.logs.filter((l) => l.startsWith('error')), []);
    assert.equal(leaseOf(r, 18).find((l) => l.pin === 18), undefined);
    assert.deepEqual(await viewer.ask({ type: 'AQ', register: 'pin', pin: 18 }), { state: 'ACK', value: 0 });
  });

  test('a write of another value that happens to end when PyMoDAQ\'s lease would is still let be', async () => {
    await move.ask({ type: 'PI', register: 'pin', pin: 23, value: 200 });
    await r.clock.advance(300);
    r.device.board.pwm(23, 100, 0.25, 1.7);
    await r.clock.advance(500);
    await viewer.ask({ type: 'scan' });
    assert.deepEqual(await viewer.ask({ type: 'AQ', register: 'pin', pin: 23 }), { state: 'ACK', value: 64 }, 'PyMoDAQ did not write its 200 back');
    await r.clock.advance(1200);
    assert.equal(heaterLease(r), undefined);
  });

  test('a PI while renewals are due is what the pin gets: a renewal never writes an older value over it', async () => {
    await move.ask({ type: 'PI', register: 'pin', pin: 18, value: 200 });
    await move.ask({ type: 'PI', register: 'pin', pin: 23, value: 200 });
    await move.ask({ type: 'PI', register: 'pin', pin: 5, value: 1 });
    await r.clock.advance(1200);
    assert.deepEqual(await move.ask({ type: 'PI', register: 'pin', pin: 5, value: 0 }), { state: 'ACK', value: 0 });
    assert.deepEqual(await move.ask({ type: 'PI', register: 'pin', pin: 23, value: 100 }), { state: 'ACK', value: 100 });
    for (let i = 0; i < 3; i++) {
      await r.clock.advance(500);
      await viewer.ask({ type: 'scan' });
    }
    assert.equal(leaseOf(r, 5).find((l) => l.pin === 5), undefined, 'the relay stayed off');
    assert.deepEqual(await viewer.ask({ type: 'AQ', register: 'pin', pin: 23 }), { state: 'ACK', value: 100 });
    assert.equal(heaterLease(r)?.value, 100 / 255, 'held at the new value');
    await move.ask({ type: 'PI', register: 'pin', pin: 23, value: 0 });
    await move.ask({ type: 'PI', register: 'pin', pin: 18, value: 0 });
  });

  test('a request held up by a light sleep renews from when it arrived, so the write ends hold_s after it', async () => {
    await move.ask({ type: 'PI', register: 'pin', pin: 23, value: 200 });
    await r.clock.advance(300);
    r.device.board.lightSleep(1000);
    await r.clock.advance(100);
    // Arrives at 400 ms and is served at 1,300 ms, when the board wakes.
    const late = viewer.ask({ type: 'AQ', register: 'pin', pin: 23 });
    await new Promise((resolve) => setTimeout(resolve, 100)); // read by the server before the clock moves
    for (let i = 0; i < 10; i++) await r.clock.advance(100);
    assert.deepEqual(await late, { state: 'ACK', value: 200 });
    assert.equal(heaterLease(r)?.expires_in_s, 1, 'renewed to 400 ms + hold_s = 2,400 ms, not to 2 s after the wake');
    await r.clock.advance(1000);
    assert.equal(heaterLease(r), undefined, 'ended hold_s after the last request arrived');
  });

  test('a PI that waited longer than hold_s (a light sleep) is refused, not applied', async () => {
    r.device.board.lightSleep(3000);
    const late = move.ask({ type: 'PI', register: 'pin', pin: 23, value: 180 });
    await new Promise((resolve) => setTimeout(resolve, 100)); // read by the server before the clock moves
    for (let i = 0; i < 31; i++) await r.clock.advance(100);
    assert.match(String((await late).value), /^limit_exceeded: the request waited longer than pymodaq\.hold_s \(2 s\)/);
    assert.equal(heaterLease(r), undefined);
  });

  test('two clients interleaved each get their own answers in order', async () => {
    // Each sends 20 requests before reading any reply; the two streams run side by side.
    const pipeline = async (d: Dealer, make: (i: number) => unknown) => {
      for (let i = 0; i < 20; i++) await d.socket.send(JSON.stringify(make(i)));
      const replies = [];
      for (let i = 0; i < 20; i++) replies.push(JSON.parse(String((await d.socket.receive())[0])) as { state: string; value: unknown });
      return replies;
    };
    const [ra, rb] = await Promise.all([
      pipeline(viewer, (i) => (i % 2 ? { type: 'AQ', register: 'pin', pin: 18 } : { type: 'AQ', register: 'pin', pin: 'x' })),
      pipeline(move, () => ({ type: 'scan' })),
    ]);
    ra.forEach((reply, i) => assert.equal(reply.state, i % 2 ? 'ACK' : 'ERROR', `viewer reply ${i}: ${JSON.stringify(reply)}`));
    assert.ok(rb.every((reply) => reply.state === 'ACK' && typeof reply.value === 'object' && reply.value !== null && 'detector' in reply.value));
  });
});

describe('PyMoDAQ server: requests', { timeout: 60_000 }, () => {
  let r: Running;
  let dealer: Dealer;
  let stopPump: () => void;
  before(async () => {
    r = await start();
    stopPump = pump(r.clock);
    dealer = new Dealer(r.endpoint);
  });
  after(async () => {
    stopPump();
    dealer.close();
    await r.close();
  });

  test('a digital actuator maps a value ≥ 1 to 1 and anything lower to 0, and reads back its level', async () => {
    assert.deepEqual(await dealer.ask({ type: 'PI', register: 'pin', pin: '5', value: 3.7 }), { state: 'ACK', value: 1 });
    assert.equal(leaseOf(r, 5).find((l) => l.pin === 5)?.value, 1);
    assert.deepEqual(await dealer.ask({ type: 'PI', register: 'pin', pin: 5, value: 0.9 }), { state: 'ACK', value: 0 });
    assert.equal(leaseOf(r, 5).find((l) => l.pin === 5), undefined, '0 is the safe value: no lease');
  });

  test('a PWM value is clamped to 0–255 and read back as round(duty × 255)', async () => {
    assert.deepEqual(await dealer.ask({ type: 'PI', register: 'pin', pin: 18, value: 999 }), { state: 'ACK', value: 255 });
    assert.deepEqual(await dealer.ask({ type: 'PI', register: 'pin', pin: 18, value: -40 }), { state: 'ACK', value: 0 });
    assert.deepEqual(await dealer.ask({ type: 'PI', register: 'pin', pin: ' 18 ', value: '77' }), { state: 'ACK', value: 77 });
  });

  test('AQ-MULTI answers in request order, a failed item an ERROR object in its place; PI-MULTI gives each reply', async () => {
    const reply = await dealer.ask({ type: 'AQ-MULTI', components: [{ register: 'add', add: '0x48' }, { register: 'add', add: '0x50' }, { register: 'pin', pin: '23' }, 7, { register: 'add', add: '4c', channel: 'external_temperature' }] });
    assert.equal(reply.state, 'ACK');
    const values = reply.value as unknown[];
    assert.equal(values.length, 5);
    assert.equal(typeof values[0], 'number');
    assert.match(JSON.stringify(values[1]), /"state":"ERROR","value":"bad_field: add: no sensor answers at 0x50/);
    assert.equal(values[2], 0);
    assert.match(JSON.stringify(values[3]), /not_an_object/);
    assert.equal(typeof values[4], 'number');
    const multi = await dealer.ask({ type: 'PI-MULTI', components: [{ register: 'pin', pin: 18, value: 10 }, { register: 'add', add: '0x48', value: 1 }] });
    assert.deepEqual(multi.value, [{ state: 'ACK', value: 10 }, { state: 'ERROR', value: 'unsupported: actuators are driven by their GPIO pin: send "register": "pin" with "pin"' }]);
  });

  test('sensors answer at their address, or at the one pymodaq.addresses gives them; channel names a quantity', async () => {
    const tmp = await dealer.ask({ type: 'AQ', register: 'add', add: '0X48' });
    const plate = await dealer.ask({ type: 'AQ', register: 'add', add: '4d' });
    assert.equal(tmp.state, 'ACK');
    assert.equal(plate.state, 'ACK');
    assert.notEqual(tmp.value, plate.value, 'the TMP102 on bus 1 and the PT-100 on bus 3 are two sensors');
    const wrong = await dealer.ask({ type: 'AQ', register: 'add', add: '0x48', channel: 'hum' });
    assert.deepEqual(wrong, { state: 'ERROR', value: 'bad_field: channel: t_heater (tmp102) answers "temp", or leave channel out for temperature' });
    assert.deepEqual(await dealer.ask({ type: 'AQ', register: 'add', add: 72 }), { state: 'ERROR', value: 'bad_field: add: expected an I2C address as a hex string, such as "0x48", not 72' });
  });

  test('pins and values are read as Python int() reads them', async () => {
    for (const pin of ['18.0', 'abc', true, null, [18]]) {
      const reply = await dealer.ask({ type: 'AQ', register: 'pin', pin });
      assert.equal(reply.state, 'ERROR', `pin ${JSON.stringify(pin)}`);
      assert.match(String(reply.value), /^bad_field: pin: expected a whole number/);
    }
    const fan = await dealer.ask({ type: 'AQ', register: 'pin', pin: 18 });
    assert.equal(fan.state, 'ACK');
    assert.deepEqual(await dealer.ask({ type: 'AQ', register: 'pin', pin: 18.9 }), fan, 'a float pin is truncated, as int(18.9) is 18');
    assert.match(String((await dealer.ask({ type: 'AQ', register: 'pin', pin: 4 })).value), /^bad_field: pin: 4 is not an actuator of this board; actuators: 18 \(fan\), 23 \(heater\), 5 \(relay\)$/);
  });

  test('malformed, non-object and unknown requests are ERRORs with a stable code', async () => {
    assert.match(String((await dealer.ask('{"type": ')).value), /^bad_json: /);
    assert.match(String((await dealer.ask('[1, 2]')).value), /^not_an_object: /);
    assert.deepEqual(await dealer.ask({ type: 'GET' }), { state: 'ERROR', value: 'unknown_action: type "GET" is not one of scan, AQ, AQ-MULTI, PI, PI-MULTI' });
    assert.match(String((await dealer.ask({ type: 'AQ', register: 'reg' })).value), /^bad_field: register: /);
    assert.match(String((await dealer.ask({ type: 'AQ-MULTI', components: 'all' })).value), /^bad_field: components: /);
  });
});

describe('PyMoDAQ server: framing', { timeout: 60_000 }, () => {
  let r: Running;
  let stopPump: () => void;
  before(async () => {
    r = await start();
    stopPump = pump(r.clock);
  });
  after(async () => {
    stopPump();
    await r.close();
  });

  test('a REQ peer sends [identity, "", body] and gets its reply in the same shape', async () => {
    const req = new zmq.Request({ receiveTimeout: 2000, linger: 0 });
    req.connect(r.endpoint);
    try {
      await req.send(JSON.stringify({ type: 'AQ', register: 'pin', pin: 23 }));
      const [reply] = await req.receive();
      assert.deepEqual(JSON.parse(String(reply)), { state: 'ACK', value: 0 });
    } finally {
      req.close();
    }
  });

  test('a request that is not UTF-8, or a message of the wrong frame count, gets no reply; the next one does', async () => {
    const dealer = new Dealer(r.endpoint);
    try {
      await dealer.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
      assert.equal(await nothingWithin(dealer.socket, 400), true, 'non-UTF-8: dropped');
      await dealer.socket.send(['a', 'b', JSON.stringify({ type: 'scan' })]);
      assert.equal(await nothingWithin(dealer.socket, 400), true, 'four frames with the identity: dropped');
      assert.equal((await dealer.ask({ type: 'scan' })).state, 'ACK');
    } finally {
      dealer.close();
    }
  });

  test('a request longer than max_frame_bytes ends that connection without a reply; other clients go on', async () => {
    const big = new Dealer(r.endpoint);
    const other = new Dealer(r.endpoint);
    try {
      await big.socket.send(JSON.stringify({ type: 'scan', pad: 'x'.repeat(70 * 1024) }));
      assert.equal(await nothingWithin(big.socket, 500), true);
      assert.equal((await other.ask({ type: 'scan' })).state, 'ACK');
    } finally {
      big.close();
      other.close();
    }
  });

  test("one peer's replies come back in the order it asked, even when an early request takes longer", async () => {
    const dealer = new Dealer(r.endpoint);
    try {
      // A bad address answers at once, a scan too; interleave them and check each reply is its own.
      const asks = [{ type: 'AQ', register: 'add', add: '0x48' }, { type: 'GET' }, { type: 'AQ', register: 'pin', pin: 18 }, { type: 'nope' }];
      for (const a of asks) await dealer.socket.send(JSON.stringify(a));
      const replies = [];
      for (let i = 0; i < asks.length; i++) replies.push(JSON.parse(String((await dealer.socket.receive())[0])) as { state: string; value: unknown });
      assert.deepEqual(replies.map((x) => x.state), ['ACK', 'ERROR', 'ACK', 'ERROR']);
      assert.match(String(replies[1]?.value), /"GET"/);
      assert.match(String(replies[3]?.value), /"nope"/);
    } finally {
      dealer.close();
    }
  });
});

describe('PyMoDAQ server: stopping', { timeout: 60_000 }, () => {
  test('requests still queued when the board stops never drive an output', async () => {
    const r = await start();
    const dealer = new Dealer(r.endpoint);
    try {
      // Three PT-100 reads wait on the ADS1115's conversion (the clock is still), and a PI waits behind them.
      for (let i = 0; i < 3; i++) await dealer.socket.send(JSON.stringify({ type: 'AQ', register: 'add', add: '0x4d' }));
      await dealer.socket.send(JSON.stringify({ type: 'PI', register: 'pin', pin: 23, value: 200 }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      await r.close();
      for (let i = 0; i < 50; i++) await r.clock.advance(10);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const heater = (r.device.board.state()['pins'] as Array<{ pin: number; duty?: number }>).find((p) => p.pin === 23);
      assert.equal(heater?.duty, 0);
      assert.equal(heaterLease(r), undefined);
    } finally {
      dealer.close();
    }
  });
});

describe('PyMoDAQ server: scope and listening', { timeout: 60_000 }, () => {
  test('with scope read, PyMoDAQ reads but every PI is refused as unauthorized', async () => {
    const r = await start(benchConfig({ auth: { tokens: [{ token: 'a-token-of-enough-length', scope: 'admin' }] }, pymodaq: { hold_s: HOLD_S, scope: 'read', addresses: { t_plate: 0x4d } } }));
    const stopPump = pump(r.clock);
    const dealer = new Dealer(r.endpoint);
    try {
      assert.equal((await dealer.ask({ type: 'AQ', register: 'add', add: '0x48' })).state, 'ACK');
      assert.match(String((await dealer.ask({ type: 'PI', register: 'pin', pin: 23, value: 100 })).value), /^unauthorized: this board's pymodaq.scope is read/);
      assert.equal(heaterLease(r), undefined);
    } finally {
      stopPump();
      dealer.close();
      await r.close();
    }
  });

  test('a busy port is said with what to do', async () => {
    const first = await start();
    const port = Number(first.endpoint.split(':').pop());
    const clock = new ManualClock();
    const config = parseBoardConfig({ ...(benchConfig() as object), pymodaq: { port, hold_s: HOLD_S, addresses: { t_plate: 0x4d } } });
    const stop = pump(clock);
    try {
      await assert.rejects(
        startDevice({ config, hardware: createSimHardware(config, clock), clock, host: '127.0.0.1', port: 0 }),
        (err: Error) => /PyMoDAQ \(ZeroMQ\) cannot listen on 127\.0\.0\.1:\d+: the port is already in use .*--pymodaq-port/.test(err.message),
      );
    } finally {
      stop();
      await first.close();
    }
  });
});
