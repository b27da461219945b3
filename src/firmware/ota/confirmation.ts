// After the commit: the board resets, applies the update through its journal and runs the new
// version on trial until it is healthy, then confirms it, or rolls back after TRIAL_BOOTS boots.
import { setTimeout as sleep } from 'node:timers/promises';
import type { OtaChannel } from './ota-channel.js';
import { OtaError } from './ota-error.js';
import type { OtaListener } from './ota-events.js';
import type { UpdateStatus } from './update-status.js';

const POLL_MS = 500;

/** Waits `ms`; an abort ends the wait at once and rejects with the signal's reason, as throwIfAborted does. */
export async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return sleep(ms);
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    signal.throwIfAborted();
    throw err;
  }
}

/** Polls the board's status until it confirms `version`; throws OtaError when it does not. */
export async function waitForConfirmation(channel: OtaChannel, version: string, waitMs: number, emit: OtaListener, signal?: AbortSignal): Promise<UpdateStatus> {
  const deadline = Date.now() + waitMs;
  let last: UpdateStatus | undefined;
  let announcedBoot = 0;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    const s = await channel.pollStatus(deadline - Date.now());
    // Until it resets, the board still reports the committed staging area.
    if (s !== undefined && !(s.state === 'staging' && s.staging?.committed === true)) {
      last = s;
      if (s.rolled_back_from === version) throw new OtaError(channel.label, { code: 'rolled_back', version, runs: s.version });
      if (s.state === 'trial') {
        if (s.boot_count !== announcedBoot) {
          announcedBoot = s.boot_count;
          emit({ type: 'on_trial', version: s.version, bootCount: s.boot_count });
        }
      } else if (s.version === version) {
        return s;
      } else {
        throw new OtaError(channel.label, { code: 'not_applied', version, runs: s.version });
      }
    }
    await pause(Math.max(0, Math.min(POLL_MS, deadline - Date.now())), signal);
  }
  if (last?.state === 'trial') throw new OtaError(channel.label, { code: 'still_on_trial', version, bootCount: last.boot_count, waitedMs: waitMs });
  throw new OtaError(channel.label, { code: 'no_return', waitedMs: waitMs });
}
