// The hub's firmware rollouts as the API sees them (RolloutControl): a request is checked
// against the releases, the registry and the rollouts running, stored, and run (rollout-run.ts).
import { HubError } from '../../errors.js';
import { ReleaseError, type ReleaseStore } from '../../store/releases.js';
import type { ReleaseView, RolloutControl, RolloutView } from '../../types.js';
import { RolloutRun, type RolloutRunDeps } from './rollout-run.js';

export class Rollouts implements RolloutControl {
  private readonly runs = new Map<number, RolloutRun>();
  private stopping = false;

  constructor(
    private readonly releaseStore: ReleaseStore,
    private readonly deps: RolloutRunDeps,
  ) {}

  releases(): ReleaseView[] {
    return this.releaseStore.list().map(({ version, addedAt, files, totalBytes, digest }) => ({ version, addedAt, files: files.length, totalBytes, digest }));
  }

  list(): Promise<RolloutView[]> {
    return this.deps.store.list();
  }

  get(id: number): Promise<RolloutView | undefined> {
    return this.deps.store.get(id);
  }

  async start(request: { version: string; boards: string[]; waveSize: number }, by: string): Promise<RolloutView> {
    const { version, boards, waveSize } = request;
    if (this.stopping) throw new HubError('shutting_down', 'the hub is stopping; start the rollout again when it is back');
    if (boards.length === 0) throw new HubError('no_boards', 'boards: empty; name the boards to update, e.g. {"version":"0.1.1","boards":["tank","porch"],"wave_size":1}');
    if (!Number.isInteger(waveSize) || waveSize < 1) throw new HubError('bad_request', `wave_size: ${waveSize} is not a whole number of boards of at least 1`);
    const twice = boards.find((b, i) => boards.indexOf(b) !== i);
    if (twice !== undefined) throw new HubError('bad_request', `boards: ${JSON.stringify(twice)} is named twice; name each board once`);
    try {
      this.releaseStore.manifest(version);
    } catch (err) {
      if (!(err instanceof ReleaseError)) throw err;
      throw new HubError('unknown_release', err.code === 'unknown_version' ? `${err.message}, or add it with: tether hub release add DIR` : err.message);
    }
    for (const board of boards) {
      if (this.deps.facade.device(board) === undefined) throw new HubError('not_found', `no board ${JSON.stringify(board)} is registered; GET /api/devices lists them`);
    }
    if (this.stopping) throw new HubError('shutting_down', 'the hub is stopping; start the rollout again when it is back');
    // The store refuses a board that is in a running rollout (board_in_rollout), made by any hub.
    const view = await this.deps.store.create(version, boards, waveSize, by, this.deps.now());
    this.deps.logger.info(`rollout ${view.id}: ${version} to ${boards.join(', ')} (first wave ${Math.min(waveSize, boards.length)}), started by ${by}`);
    for (const board of view.boards) {
      this.deps.recordEvent(board.device, 'rollout_started', { rollout: view.id, version, wave: board.wave, by });
      this.deps.publish(view, board);
    }
    this.launch(view.id, version);
    return view;
  }

  async cancel(id: number, by: string): Promise<RolloutView> {
    const view = await this.deps.store.get(id);
    if (view === undefined) throw new HubError('not_found', `no rollout ${id}; GET /api/rollouts lists them`);
    if (view.state !== 'running') throw new HubError('rollout_ended', `rollout ${id} has ended already (${view.state}); there is nothing to cancel`);
    const run = this.runs.get(id);
    // A run that failed (its log says why) left its rollout running: the cancel ends it all the same.
    if (run === undefined) await this.deps.store.end(id, 'cancelled', this.deps.now(), { device: null, code: 'cancelled', message: `cancelled by ${by}` });
    else await run.cancel(by);
    return (await this.deps.store.get(id)) as RolloutView;
  }

  /** Runs every rollout the store holds as running (the hub stopped during them). */
  async resume(): Promise<void> {
    for (const view of await this.deps.store.running()) {
      this.deps.logger.info(`rollout ${view.id} of ${view.version}: resumed`);
      this.launch(view.id, view.version);
    }
  }

  /** Aborts every run; their rollouts stay running in the store, for resume(). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.runs.values()].map((run) => run.stop()));
  }

  private launch(id: number, version: string): void {
    const run = new RolloutRun(id, () => this.releaseStore.firmware(version), this.deps);
    this.runs.set(id, run);
    void run.finished.then(() => this.runs.delete(id));
  }
}
