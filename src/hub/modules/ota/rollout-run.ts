// One running rollout: wave 1 (the first waveSize boards), then the rest only if every board of
// wave 1 ended confirmed (or already held the release). The first board that fails stops it: the
// updates under way finish, no board starts after that, and the rollout ends `stopped` with that
// board and its code. A cancel aborts the updates under way; the hub stopping aborts them too but
// leaves the rollout running in the store, to be resumed at the next start.
import type { Firmware } from '../../../firmware/index.js';
import type { Logger } from '../../../device/logger.js';
import type { JsonObject } from '../../../protocol/codec.js';
import type { HubFacade } from '../../api/facade.js';
import type { BoardChange, RolloutStore } from '../../store/port.js';
import type { RolloutBoardView, RolloutSummary, RolloutView } from '../../types.js';
import { updateBoard } from './board-update.js';

/** Boards of one wave updated at the same time, at most. */
const PARALLEL_BOARDS = 4;

export interface RolloutRunDeps {
  facade: Pick<HubFacade, 'command' | 'device'>;
  store: RolloutStore;
  logger: Logger;
  now(): number;
  confirmWaitMs: number;
  onlineWaitMs: number;
  /** Publishes a board's changed status on the bus. */
  publish(rollout: RolloutSummary, board: RolloutBoardView): void;
  /** Stores a hub event for the board. */
  recordEvent(device: string, type: string, data: JsonObject): void;
}

/** Why the signal was aborted: the hub stopping leaves the rollout to resume, a cancel ends it. */
class Shutdown extends Error {
  readonly code = 'shutting_down';
}
class Cancelled extends Error {
  readonly code = 'cancelled';
}

type Reason = NonNullable<RolloutSummary['reason']>;

export class RolloutRun {
  private readonly controller = new AbortController();
  /** Set by the first failure or a cancel: no board starts after it. */
  private reason: Reason | undefined;
  /** The rollout as this run last stored it; undefined until the run has read it. */
  private shown: RolloutView | undefined;
  /** The board status writes, in the order they were reported. */
  private writes: Promise<void> = Promise.resolve();
  /** Settles when the run is over (never rejects). */
  readonly finished: Promise<void>;

  constructor(
    private readonly id: number,
    /** The release, or why it cannot be sent (a damaged release stops the rollout at once). */
    firmware: () => Firmware,
    private readonly deps: RolloutRunDeps,
  ) {
    this.finished = this.run(firmware).catch((err: unknown) => {
      deps.logger.error(`rollout ${id}: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    });
  }

  /** Ends the rollout `cancelled` at once; updates under way are aborted. */
  async cancel(by: string): Promise<void> {
    const reason: Reason = { device: null, code: 'cancelled', message: `cancelled by ${by}` };
    this.reason ??= reason;
    this.controller.abort(new Cancelled(reason.message));
    await this.end('cancelled', reason);
  }

  /** The hub stops: updates under way are aborted and the rollout stays running, to resume. */
  async stop(): Promise<void> {
    this.controller.abort(new Shutdown('the hub is stopping'));
    await this.finished;
  }

  private async run(firmware: () => Firmware): Promise<void> {
    this.shown = await this.view();
    let release: Firmware;
    try {
      release = firmware();
    } catch (err) {
      this.failed({ device: null, code: codeOf(err), message: err instanceof Error ? err.message : String(err) });
      return this.finish();
    }
    // Resumed after a board failed but before the rollout was marked stopped: it stops now.
    const failed = this.shown.boards.find((b) => b.state === 'failed');
    if (failed !== undefined) this.failed({ device: failed.device, code: failed.error?.code ?? 'internal', message: failed.error?.message ?? 'failed' });
    for (const wave of [1, 2]) {
      if (this.reason !== undefined) break;
      const boards = this.shown.boards.filter((b) => b.wave === wave && (b.state === 'waiting' || b.state === 'updating'));
      await this.runWave(boards, release);
      if (this.controller.signal.reason instanceof Shutdown) return;
    }
    await this.finish();
  }

  private async runWave(boards: RolloutBoardView[], firmware: Firmware): Promise<void> {
    const queue = [...boards];
    const worker = async () => {
      for (let board = queue.shift(); board !== undefined; board = queue.shift()) {
        if (this.reason !== undefined || this.controller.signal.aborted) return;
        // Cancelled through another hub sharing the store: no board starts after that.
        if ((await this.deps.store.get(this.id))?.state !== 'running') {
          const reason: Reason = { device: null, code: 'cancelled', message: 'ended through another hub' };
          this.reason ??= reason;
          this.controller.abort(new Cancelled(reason.message));
          return;
        }
        await this.runBoard(board, firmware);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_BOARDS, queue.length) }, worker));
  }

  private async runBoard(board: RolloutBoardView, firmware: Firmware): Promise<void> {
    const { signal } = this.controller;
    const report = (change: BoardChange) => this.report(board.device, change);
    try {
      const result = await updateBoard(board, firmware, { ...this.deps, signal, report });
      report({ ...result, phase: null, endedAt: this.deps.now() });
      this.deps.recordEvent(board.device, 'rollout_result', { rollout: this.id, version: firmware.version, state: result.state });
    } catch (err) {
      if (signal.reason instanceof Shutdown) return; // resumed at the next start, from the board's own status
      const error = { code: codeOf(err), message: err instanceof Error ? err.message : String(err) };
      const aborted = signal.aborted;
      report({ state: aborted ? 'aborted' : 'failed', phase: null, error, endedAt: this.deps.now() });
      this.deps.recordEvent(board.device, 'rollout_result', { rollout: this.id, version: firmware.version, state: aborted ? 'aborted' : 'failed', error });
      if (!aborted) this.failed({ device: board.device, ...error });
    }
  }

  private failed(reason: Reason): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.deps.logger.warn(`rollout ${this.id}: stopped: ${reason.device ?? 'the release'}: ${reason.code}: ${reason.message}`);
  }

  /** The rollout ends done, or stopped by its first failure (a cancel has ended it already). */
  private async finish(): Promise<void> {
    if (this.reason === undefined) await this.end('done', null);
    else if (this.reason.code !== 'cancelled') await this.end('stopped', this.reason);
  }

  /** The boards that never started are skipped, then the rollout ends: an ended rollout has no board waiting. */
  private async end(state: 'done' | 'stopped' | 'cancelled', reason: RolloutSummary['reason']): Promise<void> {
    // A cancel may come before the run has read the rollout.
    this.shown ??= await this.view();
    for (const b of this.shown.boards) if (b.state === 'waiting') this.report(b.device, { state: 'skipped' });
    await this.writes;
    if (!(await this.deps.store.end(this.id, state, this.deps.now(), reason))) return;
    const view = (this.shown = await this.view());
    this.deps.logger.info(`rollout ${this.id} of ${view.version}: ${state}`);
    for (const board of view.boards) {
      this.deps.recordEvent(board.device, 'rollout_ended', { rollout: this.id, version: view.version, state, ...(reason !== null ? { reason } : {}) });
      this.deps.publish(view, board);
    }
  }

  private report(device: string, change: BoardChange): void {
    // Kept in memory as this run writes it (read from the store once): a progress report (one
    // per percent) need not read every board's row back.
    const shown = this.shown;
    const was = shown?.boards.find((b) => b.device === device);
    const board = was === undefined ? undefined : { ...was, ...change };
    if (shown !== undefined && board !== undefined) this.shown = { ...shown, boards: shown.boards.map((b) => (b === was ? board : b)) };
    const published = this.shown;
    // Written before it is published, one write after the other: a resumed rollout starts from what is stored.
    this.writes = this.writes.then(
      () =>
        this.deps.store.updateBoard(this.id, device, change).then(
          () => {
            if (board !== undefined && published !== undefined) this.deps.publish(published, board);
          },
          (err: unknown) => {
            // The update itself goes on; the board's own status tells a resumed rollout where it stands.
            this.deps.logger.warn(`rollout ${this.id}: ${device}: its status was not stored: ${err instanceof Error ? err.message : String(err)}`);
          },
        ),
    );
  }

  private async view(): Promise<RolloutView> {
    const view = await this.deps.store.get(this.id);
    if (view === undefined) throw new Error(`rollout ${this.id} is not in the store`);
    return view;
  }
}

/** The stable code of a failure: OtaError's, a board's (TetherError) or the hub's (HubError). */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'internal';
}
