// The hub's view of a board's state (board-reports.ts): read a while after the board reported it,
// its leases show the time they have left now, not the time they had then.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoardReports } from '../../src/hub/board-reports.js';
import type { HubUpdate } from '../../src/hub/types.js';

test("a state read 2.5 s after its report shows each lease's time left now; the stream carried it as reported", { timeout: 10_000 }, () => {
  let now = 1_000_000;
  const published: HubUpdate[] = [];
  const reports = new BoardReports('shed', {
    ingest: { add: () => Promise.resolve(), resume: () => false },
    publish: (u) => published.push(u),
    wallNow: () => now,
    stateStale: () => undefined,
  });
  const lease = { value: 1, safe_value: 0, expires_in_s: 10 };
  reports.setState({
    action: 'get_state',
    ok: true,
    pins: [
      { pin: 15, mode: 'output', value: 1, safe_value: 0, lease },
      { pin: 16, mode: 'output', value: 0, safe_value: 0, lease: null },
      { pin: 4, mode: 'input', value: 1 },
    ],
    leases: [{ pin: 15, value: 1, expires_in_s: 10 }],
    boot_id: 'b',
    uptime_s: 3,
  });
  assert.deepEqual(reports.state?.['leases'], [{ pin: 15, value: 1, expires_in_s: 10 }], 'read at once: as reported');
  now += 2500;
  const state = reports.state;
  assert.deepEqual(state?.['pins'], [
    { pin: 15, mode: 'output', value: 1, safe_value: 0, lease: { value: 1, safe_value: 0, expires_in_s: 7.5 } },
    { pin: 16, mode: 'output', value: 0, safe_value: 0, lease: null },
    { pin: 4, mode: 'input', value: 1 },
  ]);
  assert.deepEqual(state?.['leases'], [{ pin: 15, value: 1, expires_in_s: 7.5 }]);
  assert.equal(state?.['uptime_s'], 3, 'the rest as reported');
  now += 60_000;
  assert.deepEqual(reports.state?.['leases'], [{ pin: 15, value: 1, expires_in_s: 0 }], 'never below 0');
  const streamed = published.find((u) => u.type === 'state');
  assert.deepEqual(streamed?.type === 'state' ? streamed.state['leases'] : undefined, [{ pin: 15, value: 1, expires_in_s: 10 }]);
});
