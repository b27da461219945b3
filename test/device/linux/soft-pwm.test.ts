// Software PWM on the manual clock: edges at the cycle's deadlines, steady levels with no
// timer, the frequency ceiling, and a line left low.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock, type Timer } from '../../../src/common/clock.js';
import { SOFT_PWM_MAX_HZ, SoftPwm, type SoftPwmEdge } from '../../../src/device/backends/linux/soft-pwm.js';
import { SimGpio } from '../../../src/device/sim/sim-gpio.js';

function setup() {
  const clock = new ManualClock();
  const gpio = new SimGpio(30);
  const edges: SoftPwmEdge[] = [];
  const pwm = new SoftPwm({ gpio, clock, onEdge: (e) => edges.push(e) });
  return { clock, gpio, edges, pwm };
}

const shape = (edges: readonly SoftPwmEdge[]) => edges.map((e) => [e.level, e.at]);

void describe('SoftPwm', { timeout: 30_000 }, () => {
  void test('100 Hz at 25 %: high 2.5 ms, low 7.5 ms, each edge on its deadline', async () => {
    const { clock, gpio, edges, pwm } = setup();
    pwm.set(23, 100, 0.25);
    assert.equal(gpio.mode(23), 'output');
    assert.equal(gpio.level(23), 1);
    await clock.advance(30);
    assert.deepEqual(shape(edges), [[1, 0], [0, 2.5], [1, 10], [0, 12.5], [1, 20], [0, 22.5], [1, 30]]);
    assert.ok(edges.every((e) => e.at === e.due));
    assert.equal(clock.pendingTimers, 1);
  });

  void test('deadlines are absolute: a timer that fires late does not shift the cycles after it', async () => {
    const gpio = new SimGpio(30);
    const inner = new ManualClock();
    // A clock whose timers each fire 1 ms after they are due, like a busy event loop.
    const late = { now: () => inner.now(), setTimer: (ms: number, fn: () => void): Timer => inner.setTimer(ms + 1, fn), clearTimer: (t: Timer) => inner.clearTimer(t) };
    const edges: SoftPwmEdge[] = [];
    const pwm = new SoftPwm({ gpio, clock: late, onEdge: (e) => edges.push(e) });
    pwm.set(5, 50, 0.5);
    await inner.advance(100);
    const rises = edges.filter((e) => e.level === 1).map((e) => [e.due, e.at]);
    assert.deepEqual(rises, [[0, 0], [20, 21], [40, 41], [60, 61], [80, 81]]);
  });

  void test('a cycle the timer missed entirely is dropped, keeping the phase', async () => {
    const gpio = new SimGpio(30);
    const inner = new ManualClock();
    let stall = 0;
    const clock = { now: () => inner.now(), setTimer: (ms: number, fn: () => void): Timer => inner.setTimer(ms + stall, fn), clearTimer: (t: Timer) => inner.clearTimer(t) };
    const edges: SoftPwmEdge[] = [];
    const pwm = new SoftPwm({ gpio, clock, onEdge: (e) => edges.push(e) });
    pwm.set(5, 100, 0.5);
    stall = 25; // the fall due at 5 ms comes at 30 ms
    await inner.advance(6);
    stall = 0;
    await inner.advance(40);
    const rises = edges.filter((e) => e.level === 1).map((e) => e.due);
    // The rise due at 10 ms was due 20 ms before the late fall's timer ran: cycles 10 and 20 are dropped.
    assert.deepEqual(rises, [0, 30, 40]);
  });

  void test('duty 0 and 1 are steady levels with no timer, and going back to a duty restarts the cycle', async () => {
    const { clock, gpio, pwm } = setup();
    pwm.set(7, 100, 1);
    assert.equal(gpio.level(7), 1);
    assert.equal(clock.pendingTimers, 0);
    pwm.set(7, 100, 0.5);
    assert.equal(clock.pendingTimers, 1);
    await clock.advance(3);
    pwm.set(7, 100, 0);
    assert.equal(gpio.level(7), 0);
    assert.equal(clock.pendingTimers, 0);
    await clock.advance(50);
    assert.equal(gpio.level(7), 0);
  });

  void test('a new duty moves the running cycle’s next edge at once', async () => {
    const { clock, edges, pwm } = setup();
    pwm.set(4, 10, 0.8); // high until 80 ms
    await clock.advance(30);
    pwm.set(4, 10, 0.2); // its fall was due at 20 ms: it comes now
    assert.deepEqual(edges.map((e) => [e.level, e.at, e.due]), [[1, 0, 0], [0, 30, 20]]);
    await clock.advance(70);
    pwm.set(4, 10, 0.5); // while high: the fall moves from 120 ms to 150 ms
    await clock.advance(100);
    assert.deepEqual(shape(edges), [[1, 0], [0, 30], [1, 100], [0, 150], [1, 200]]);
  });

  void test('refuses a frequency above the ceiling, naming the pin and the limit', () => {
    const { pwm } = setup();
    assert.throws(() => pwm.set(23, 25_000, 0.5), new RegExp(`software PWM on GPIO 23 runs at most ${SOFT_PWM_MAX_HZ} Hz .*not 25000 Hz; use a hardware PWM pin`));
    assert.throws(() => pwm.set(23, 0, 0.5), /frequency is a number of Hz > 0/);
    assert.throws(() => pwm.set(23, 100, 1.5), /duty is 0\.\.1/);
    assert.doesNotThrow(() => pwm.set(23, SOFT_PWM_MAX_HZ, 0.5));
  });

  void test('a lease-like sequence (0.7, then safe 0) leaves the line low with no timer; stop and close do too', async () => {
    const { clock, gpio, pwm } = setup();
    pwm.set(9, 100, 0.7);
    await clock.advance(3);
    assert.equal(gpio.level(9), 1);
    pwm.set(9, 100, 0);
    assert.equal(gpio.level(9), 0);
    assert.equal(clock.pendingTimers, 0);
    pwm.set(10, 100, 0.5);
    pwm.set(11, 100, 1);
    pwm.close();
    assert.equal(gpio.level(10), 0, 'a pulsing pin is left low');
    assert.equal(gpio.level(11), 1, 'a pin at duty 1 keeps its level');
    assert.equal(clock.pendingTimers, 0);
    pwm.set(12, 100, 0.5);
    pwm.stop(12);
    assert.equal(gpio.level(12), 0);
    assert.equal(pwm.running(12), undefined);
    assert.equal(clock.pendingTimers, 0);
  });

  void test('a write that fails stops that pin and reports it', async () => {
    const clock = new ManualClock();
    const gpio = new SimGpio(30);
    const errors: string[] = [];
    const pwm = new SoftPwm({ gpio, clock, onError: (pin, err) => errors.push(`${pin}: ${(err as Error).message}`) });
    pwm.set(3, 100, 0.5);
    gpio.release(3);
    gpio.setupInput(3, 'none');
    await clock.advance(20);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^3: /);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(pwm.running(3), undefined);
  });
});
