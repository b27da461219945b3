// Why an update did not end with the board confirming the new version, beyond the board's own
// refusals (TetherError) and the channel's failures. Each failure has a stable code and the
// figures a caller needs to say it its own way (the CLI adds its commands to run next).
import { TRIAL_BOOTS } from './update-status.js';

export type OtaFailure =
  /** The board still tries a version it has not confirmed: no new update before that ends. */
  | { code: 'on_trial'; version: string; bootCount: number }
  /** A file changed on this computer between its manifest and its upload. */
  | { code: 'file_changed'; source: string }
  /** A chunk failed; the board keeps what it received and the same update resumes from there. */
  | { code: 'upload_stopped'; path: string; offset: number; reason: string }
  /** The board rolled the new version back: it did not confirm it was healthy in time. */
  | { code: 'rolled_back'; version: string; runs: string }
  /** The board restarted with another version and reports no rollback. */
  | { code: 'not_applied'; version: string; runs: string }
  /** The wait ended with the new version still on trial. */
  | { code: 'still_on_trial'; version: string; bootCount: number; waitedMs: number }
  /** The board did not answer again within the wait after its reset. */
  | { code: 'no_return'; waitedMs: number }
  /** The board is registered at the hub but not linked to it now. */
  | { code: 'board_offline' };

/** Every code an OtaError has, with what it means (docs/firmware.md lists them too). */
export const OTA_ERROR_CATALOGUE = {
  on_trial: 'The board still tries a version it has not confirmed; wait until it confirms it or rolls back.',
  file_changed: 'A file changed on this computer while the update was sent; start it again.',
  upload_stopped: 'A chunk failed; the board keeps what it received and the same update resumes from there.',
  rolled_back: 'The new version did not confirm that it was healthy within the trial boots; the board put the old one back.',
  not_applied: 'The board restarted with another version and reports no rollback.',
  still_on_trial: 'The wait ended with the new version still on trial; the board confirms it or rolls back by itself.',
  no_return: 'The board did not answer again within the wait after its reset; it may still be applying the update.',
  board_offline: 'The board is registered at the hub but not linked to it now.',
} as const satisfies Record<OtaFailure['code'], string>;

export type OtaErrorCode = keyof typeof OTA_ERROR_CATALOGUE;

export class OtaError extends Error {
  readonly code: OtaErrorCode;

  constructor(
    /** The channel's label: which board. */
    readonly board: string,
    readonly failure: OtaFailure,
    options: { cause?: unknown } = {},
  ) {
    super(otaMessage(board, failure), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OtaError';
    this.code = failure.code;
  }
}

/** What happened and what to do next, without naming any one tool's commands. */
export function otaMessage(board: string, f: OtaFailure): string {
  switch (f.code) {
    case 'on_trial':
      return `${board} is still trying version ${f.version} (boot ${f.bootCount} of ${TRIAL_BOOTS}, not confirmed yet); wait until it confirms it or rolls back, then try again`;
    case 'file_changed':
      return `${f.source} changed while it was being sent; start the update again`;
    case 'upload_stopped':
      return `the upload stopped at ${f.path}, offset ${f.offset}: ${f.reason}; the board keeps what it received, and the same update resumes from there`;
    case 'rolled_back':
      return `${board} rolled back to ${f.runs}: version ${f.version} did not confirm that it was healthy (network up and serving, or linked to its hub) within ${TRIAL_BOOTS} boots. Check what it prints when it starts, fix the firmware and update again`;
    case 'not_applied':
      return `${board} restarted but runs ${f.runs}, not ${f.version}, and reports no rollback; the update was not applied. Check what it prints when it starts and try again`;
    case 'still_on_trial':
      return `version ${f.version} is still on trial after ${f.waitedMs / 1000} s (boot ${f.bootCount} of ${TRIAL_BOOTS}): the board confirms it once it is healthy, or rolls back by itself after ${TRIAL_BOOTS} boots`;
    case 'no_return':
      return `${board} did not come back within ${f.waitedMs / 1000} s after the reset; it may still be applying the update`;
    case 'board_offline':
      return `${board} is registered but not linked to the hub now; updates need it online`;
  }
}
