// One board's update within a rollout: the OTA client over the hub's own command path
// (HubCommandChannel), its progress events turned into the board's rollout status.
import type { Firmware } from '../../../firmware/index.js';
import { HubCommandChannel, OtaClient, OtaError, type OtaEvent } from '../../../firmware/index.js';
import { pause, waitForConfirmation } from '../../../firmware/ota/confirmation.js';
import type { JsonObject } from '../../../protocol/codec.js';
import type { HubFacade } from '../../api/facade.js';
import type { BoardChange } from '../../store/port.js';
import type { RolloutBoardView } from '../../types.js';

const ONLINE_POLL_MS = 250;

export interface BoardUpdateDeps {
  facade: Pick<HubFacade, 'command' | 'device'>;
  /** Stops the update between requests and during its waits (a cancel, the hub stopping). */
  signal: AbortSignal;
  /** How long a board may take to restart and confirm the release. */
  confirmWaitMs: number;
  /** How long to wait for the board to be linked before its update starts (it may be restarting). */
  onlineWaitMs: number;
  /** Wall-clock ms. */
  now: () => number;
  /** Records a change of the board's status (written, then published). */
  report: (change: BoardChange) => void;
}

/** How the update ended; a failure throws (OtaError, TetherError, HubError) or rejects with the signal's reason. */
export type BoardResult = Pick<RolloutBoardView, 'state' | 'version'>;

export async function updateBoard(board: RolloutBoardView, firmware: Firmware, deps: BoardUpdateDeps): Promise<BoardResult> {
  const { facade, signal, report } = deps;
  const resumed = board.state === 'updating';
  let fromVersion = board.fromVersion;
  let sent = 0;
  let total = 0;
  let shownPercent = -1;
  const progress = (change: BoardChange) => {
    shownPercent = total === 0 ? 100 : Math.floor((sent * 100) / total);
    report({ sentBytes: sent, totalBytes: total, ...change });
  };
  const onEvent = (event: OtaEvent) => {
    switch (event.type) {
      case 'planned':
        fromVersion ??= event.running;
        sent = 0;
        total = event.bytes;
        return progress({ phase: 'planned', fromVersion, version: event.running });
      case 'resuming':
      case 'upload_started':
        sent = event.receivedBytes;
        return progress({ phase: 'uploading' });
      case 'chunk_sent':
        sent += event.bytes;
        // One status write per whole percent, not per chunk.
        if (total > 0 && Math.floor((sent * 100) / total) !== shownPercent) progress({});
        return;
      case 'already_committed':
      case 'committed':
        sent = total;
        return progress({ phase: 'committed' });
      case 'on_trial':
        return report({ phase: 'on_trial', version: event.version });
      case 'file_started':
      case 'upload_ended':
        return;
    }
  };

  report({ state: 'updating', phase: 'connecting', error: null, ...(resumed ? {} : { startedAt: deps.now() }) });
  await untilOnline(board.device, deps);
  const commands = {
    // A board that went silent holds a request for its whole timeout; an abort need not wait for it.
    command: (id: string, request: JsonObject, options?: { timeoutMs?: number }) => untilAborted(facade.command(id, request, options), signal),
    isOnline: (id: string) => facade.device(id)?.online === true,
  };
  const channel = new HubCommandChannel(commands, board.device);
  const client = new OtaClient(channel, { onEvent });
  if (resumed) {
    // The hub stopped while this board applied the release: it may run it on trial now, which a
    // new update would refuse (on_trial); its confirmation is what is left to wait for.
    const status = await client.status();
    // It applied the release before the hub stopped, and it failed its trial boots meanwhile:
    // that is this board's failure, not a reason to send the release again.
    const applied = board.phase === 'committed' || board.phase === 'on_trial';
    if (applied && status.rolled_back_from === firmware.version && status.version !== firmware.version) {
      throw new OtaError(channel.label, { code: 'rolled_back', version: firmware.version, runs: status.version });
    }
    if (status.state === 'trial' && status.version === firmware.version) {
      onEvent({ type: 'on_trial', version: status.version, bootCount: status.boot_count });
      const confirmed = await waitForConfirmation(channel, firmware.version, deps.confirmWaitMs, onEvent, signal);
      return { state: 'confirmed', version: confirmed.version };
    }
  }
  const result = await client.update(firmware, { waitMs: deps.confirmWaitMs, signal });
  if (result.outcome === 'confirmed') return { state: 'confirmed', version: result.status.version };
  // Resumed after its restart, the board holds the release it did not have when it began.
  const changed = fromVersion !== null && fromVersion !== result.version;
  if (fromVersion === null) report({ fromVersion: result.running });
  return { state: changed ? 'confirmed' : 'unchanged', version: result.version };
}

/** The promise's outcome, or the signal's reason as soon as it is aborted (the promise runs on, unheeded). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Waits for the board's link; board_offline when it does not come within onlineWaitMs. */
async function untilOnline(device: string, { facade, signal, onlineWaitMs }: BoardUpdateDeps): Promise<void> {
  const deadline = Date.now() + onlineWaitMs;
  while (facade.device(device)?.online !== true) {
    if (Date.now() >= deadline) throw new OtaError(`board ${device}`, { code: 'board_offline' });
    await pause(ONLINE_POLL_MS, signal);
  }
}
