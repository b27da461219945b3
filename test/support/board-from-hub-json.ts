// A simulated board started from a config/hub.json as the hub rendered it (tether hub
// add-device, POST /api/devices, the dashboard's Add board), keeping what its link warned of.
import assert from 'node:assert/strict';
import type { Logger } from '../../src/device/logger.js';
import { startLinkedBoard, type LinkedBoard } from './linked-board.js';

export interface HubJson {
  host: string;
  port: number;
  device_id: string;
  token: string;
  fingerprint?: string;
}

export type WatchedBoard = LinkedBoard & { warnings: string[] };

/** Starts the board; the hub must link on loopback (linked boards dial 127.0.0.1). */
export async function boardFromHubJson(hubJson: string): Promise<WatchedBoard> {
  const config = JSON.parse(hubJson) as HubJson;
  assert.equal(config.host, '127.0.0.1', 'the test hub links on loopback only');
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error: (m) => void warnings.push(m) };
  const board = await startLinkedBoard({ port: config.port, token: config.token, id: config.device_id, logger });
  return Object.assign(board, { warnings });
}

/** Whether the board was told no at its hello: the hub did not prove the key it holds, or refused it. */
export function refused(board: WatchedBoard): boolean {
  return board.warnings.some((w) => /did not prove|unauthorized/.test(w));
}
