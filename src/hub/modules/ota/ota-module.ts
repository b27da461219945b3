// Firmware rollouts (rollouts.ts): a stored release (store/releases.ts) sent to boards in
// waves through the OTA client. Always on: without releases there is nothing to roll out.
// Rollouts the hub was running when it stopped resume at its start.
import type { HubContext, HubModule } from '../../module.js';
import { ReleaseStore } from '../../store/releases.js';
import type { RolloutSummary, RolloutView } from '../../types.js';
import { Rollouts } from './rollouts.js';

/** Three trial boots with the board's health check each (firmware/tether/ota.py), with room to spare. */
const CONFIRM_WAIT_MS = 5 * 60_000;
const ONLINE_WAIT_MS = 2 * 60_000;

export interface OtaModuleOptions {
  /** How long a board may take to restart and confirm a release: its trial boots with their health checks. */
  confirmWaitMs?: number;
  /** How long to wait for a board to be linked before its update starts. */
  onlineWaitMs?: number;
}

export function otaModule(options: OtaModuleOptions = {}): HubModule {
  let rollouts: Rollouts | undefined;
  return {
    name: 'ota',
    async start(ctx: HubContext) {
      const running = new Rollouts(new ReleaseStore(ctx.dataDir), {
        facade: ctx.facade,
        store: ctx.rollouts,
        logger: ctx.logger,
        now: ctx.wallNow,
        confirmWaitMs: options.confirmWaitMs ?? CONFIRM_WAIT_MS,
        onlineWaitMs: options.onlineWaitMs ?? ONLINE_WAIT_MS,
        publish: (view, board) => ctx.bus.publish({ type: 'rollout', device: board.device, rollout: summaryOf(view), board }),
        recordEvent: (device, type, data) => ctx.recordEvent(device, type, data),
      });
      rollouts = running;
      ctx.report('rollouts', () => running);
      await running.resume();
    },
    async stop() {
      await rollouts?.stop();
    },
  };
}

/** The rollout without its boards: a bus update carries the one board that changed. */
function summaryOf(view: RolloutSummary | RolloutView): RolloutSummary {
  const { id, version, waveSize, state, createdBy, createdAt, endedAt, reason } = view;
  return { id, version, waveSize, state, createdBy, createdAt, endedAt, reason };
}
