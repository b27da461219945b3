// A safe firmware update of one board through its `update` action (protocol.md §5.19; the board
// side is firmware/tether/ota.py, the steps are in docs/firmware.md): send only the files that
// differ, resume a staged upload, commit, wait for the board to come back and confirm the new
// version. Progress goes to a listener; failures are OtaError, TetherError (the board's
// refusals) or the channel's own errors.
import type { Firmware } from '../bundle/firmware-folder.js';
import { manifestDigest, manifestOf } from '../bundle/manifest.js';
import { planEverything, planUpdate } from '../bundle/update-plan.js';
import { pause, waitForConfirmation } from './confirmation.js';
import type { OtaChannel } from './ota-channel.js';
import { OtaError } from './ota-error.js';
import type { OtaListener } from './ota-events.js';
import { beginUpdate, clearUpdate, commitUpdate, DEFAULT_RESET_MS, listBoardFiles, readStatus, readVersion, type ClearResult } from './ota-requests.js';
import { receivedBytes, type UpdateStatus } from './update-status.js';
import { uploadFiles } from './upload.js';

/** The chunk size of a staging area whose status does not say (older firmware). */
const DEFAULT_CHUNK_BYTES = 1024;

export interface UpdateOptions {
  /** How long to wait for the board to restart and confirm the new version. */
  waitMs: number;
  /**
   * Stops the update between two requests and during its waits (a hub shutting down), rejecting
   * with the signal's reason. The board keeps what it has: a staged upload resumes at the next
   * update; a committed one is applied at its restart all the same.
   */
  signal?: AbortSignal;
}

export type UpdateResult =
  /** The board already held every file: nothing was sent and it did not restart. */
  | { outcome: 'unchanged'; running: string; version: string }
  /** The board restarted and confirmed the new version. */
  | { outcome: 'confirmed'; before: string; status: UpdateStatus };

export class OtaClient {
  private readonly emit: OtaListener;

  /** The channel is opened and closed by the caller. */
  constructor(
    readonly channel: OtaChannel,
    options: { onEvent?: OtaListener } = {},
  ) {
    this.emit = options.onEvent ?? (() => undefined);
  }

  status(): Promise<UpdateStatus> {
    return readStatus(this.channel);
  }

  /** Discards whatever update the board holds; it keeps or puts back the version it ran before. */
  abort(): Promise<ClearResult> {
    return clearUpdate(this.channel);
  }

  async update(firmware: Firmware, options: UpdateOptions): Promise<UpdateResult> {
    const { channel, emit } = this;
    const { signal } = options;
    signal?.throwIfAborted();
    const before = await readVersion(channel);
    const status = await readStatus(channel);
    if (status.state === 'trial') throw new OtaError(channel.label, { code: 'on_trial', version: status.version, bootCount: status.boot_count });
    const board = await listBoardFiles(channel);
    const plan = board === undefined ? planEverything(firmware) : planUpdate(firmware, board);
    if (plan.send.length === 0 && plan.delete.length === 0) return { outcome: 'unchanged', running: before, version: firmware.version };
    const manifest = manifestOf(plan.send);
    const digest = manifestDigest(manifest, plan.delete);
    emit({
      type: 'planned',
      running: before,
      version: firmware.version,
      files: plan.send.length,
      bytes: plan.send.reduce((n, f) => n + f.size, 0),
      unchanged: plan.same,
      deleting: plan.delete,
    });
    // The board stages this very update already when the version and the digest agree.
    const staging = status.staging !== undefined && status.staging.version === firmware.version && status.staging.manifest === digest ? status.staging : undefined;
    let resetInMs = DEFAULT_RESET_MS;
    if (staging?.committed === true) {
      emit({ type: 'already_committed' });
    } else {
      let chunkBytes: number;
      let received: Record<string, number> = {};
      if (staging !== undefined) {
        received = staging.received;
        chunkBytes = staging.chunk_bytes ?? DEFAULT_CHUNK_BYTES;
        emit({ type: 'resuming', receivedBytes: receivedBytes(staging) });
      } else {
        chunkBytes = await beginUpdate(channel, firmware.version, manifest, plan.delete);
      }
      await uploadFiles(channel, plan.send, received, chunkBytes, emit, signal);
      signal?.throwIfAborted();
      resetInMs = await commitUpdate(channel, firmware.version, digest);
      emit({ type: 'committed', version: firmware.version, resetInMs });
    }
    await channel.committed();
    await pause(resetInMs, signal);
    return { outcome: 'confirmed', before, status: await waitForConfirmation(channel, firmware.version, options.waitMs, emit, signal) };
  }
}
