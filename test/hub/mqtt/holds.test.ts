// Outputs held from MQTT, on a manual clock with a recording sender: renewed with a delivery
// deadline, let go when another writer sets the pin — but not on a report sent before the
// hub's own write landed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/device/logger.js';
import { HeldOutputs } from '../../../src/hub/mqtt/holds.js';
import type { JsonObject } from '../../../src/protocol/codec.js';
import { parseBoardState, type BoardState } from '../../../src/protocol/replies.js';
import type { CommandOptions } from '../../../src/hub/types.js';

function relayState(value: number): BoardState {
  return parseBoardState({ pins: [{ pin: 15, mode: 'output', value, safe_value: 0, max_lease_s: 60, lease: null }], sensors: [] });
}

function setup() {
  const clock = new ManualClock();
  const sent: Array<{ device: string; request: JsonObject; options: CommandOptions | undefined }> = [];
  const holds = new HeldOutputs({
    clock,
    logger: silentLogger,
    sender: {
      command: (device, request, options) => {
        sent.push({ device, request, options });
        return Promise.resolve({ ...request, ok: true, lease: { value: request['value'], safe_value: 0, expires_in_s: 3 } });
      },
    },
  });
  for (const board of ['shed', 'barn']) holds.pins.applyState(board, { pins: [{ pin: 15, mode: 'output', value: 0, safe_value: 0 }] });
  const target = { board: 'shed', pin: 15, pwm: false, leaseS: 3, renewS: 1 };
  return { clock, sent, holds, target };
}

describe('outputs held from MQTT', { timeout: 30_000 }, () => {
  test('ON is written with its lease and renewed every renew_s, each write due before the next renewal', async () => {
    const { clock, sent, holds, target } = setup();
    holds.set(target, 1);
    await clock.advance(3500);
    const writes = sent.filter((s) => s.request['action'] === 'write_pin');
    assert.ok(writes.length >= 3, `renewed: ${writes.length} writes`);
    for (const w of writes) {
      assert.deepEqual(w.request, { action: 'write_pin', pin: 15, value: 1, timeout: 3 });
      assert.equal(w.options?.deliverWithinMs, 1000, 'late, a renewal is dropped rather than delivered');
    }
  });

  test('a report from before the write landed does not end the hold; one after it, at another value, does', async () => {
    const { clock, sent, holds, target } = setup();
    holds.set(target, 1);
    await clock.advance(10);
    // An edge on another pin re-published the state the board reported before the write.
    holds.noteState('shed', relayState(0));
    await clock.advance(1100);
    const before = sent.length;
    assert.ok(before >= 2, 'still renewing after the stale report');
    holds.noteState('shed', relayState(1)); // the board confirms the hold
    holds.noteState('shed', relayState(0)); // then someone else switched it off
    await clock.advance(5000);
    assert.equal(sent.length, before, 'no renewal after another writer set the pin');
  });

  test('OFF, the safe value, carries no deadline: late, it does no harm', async () => {
    const { clock, sent, holds, target } = setup();
    holds.set(target, 0);
    await clock.advance(10);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]?.options?.deliverWithinMs, undefined);
  });

  test('letting go drops a renewal waiting behind a write stuck in a silent outage', async () => {
    const clock = new ManualClock();
    const calls: Array<{ request: JsonObject; fail: (err: Error) => void }> = [];
    const holds = new HeldOutputs({
      clock,
      logger: silentLogger,
      sender: { command: (_device, request) => new Promise<JsonObject>((_resolve, fail) => void calls.push({ request, fail })) },
    });
    holds.pins.applyState('shed', { pins: [{ pin: 15, mode: 'output', value: 0, safe_value: 0 }] });
    holds.set({ board: 'shed', pin: 15, pwm: false, leaseS: 3, renewS: 1 }, 1);
    await clock.advance(1100); // the first write never answers; the renewal waits behind it
    assert.equal(calls.length, 1);
    holds.letGo('shed'); // the link is seen down
    calls[0]?.fail(new Error('expired'));
    await clock.advance(5000);
    assert.equal(calls.length, 1, 'the waiting renewal was not sent once the stuck write failed');
  });

  test('letGo ends one board\'s holds; letGoAll every hold', async () => {
    const { clock, sent, holds, target } = setup();
    holds.set(target, 1);
    holds.set({ ...target, board: 'barn' }, 1);
    await clock.advance(10);
    holds.letGo('shed');
    const afterShed = sent.length;
    await clock.advance(2100);
    const newer = sent.slice(afterShed).map((s) => s.device);
    assert.ok(newer.length > 0, 'barn is still renewed');
    assert.deepEqual([...new Set(newer)], ['barn'], 'shed is not');
    holds.letGoAll();
    const afterAll = sent.length;
    await clock.advance(5000);
    assert.equal(sent.length, afterAll);
  });
});
