// The demo boards' typed state, read from a real simulated board through the client the way the
// hub reads it (get_state, get_info, list_sensors parsed by protocol/replies.ts), so that the MQTT
// entities are tested against what a board actually says rather than a hand-written copy.
import { connect } from '../../../src/client/index.js';
import { DEMO_BOARD_CONFIG, PORCH_BOARD_CONFIG } from '../../../src/device/demo-board.js';
import { parseBoardInfo, parseBoardState, parseSensorSpecs, type BoardInfo, type BoardState, type SensorSpec } from '../../../src/protocol/replies.js';
import type { DeviceView } from '../../../src/hub/types.js';
import { startSimDevice } from '../../support/sim-device.js';

export interface BoardSnapshot {
  view: DeviceView;
  info: BoardInfo | null;
  state: BoardState;
  sensors: SensorSpec[];
}

/** Starts a simulated board with this config, reads it once and stops it. */
export async function snapshotOf(rawConfig: unknown, id: string): Promise<BoardSnapshot> {
  const sim = await startSimDevice(rawConfig);
  const client = await connect({ host: '127.0.0.1', port: sim.port });
  try {
    const state = parseBoardState(await client.request({ action: 'get_state' }));
    const info = parseBoardInfo(await client.request({ action: 'get_info' }));
    const sensors = parseSensorSpecs(await client.request({ action: 'list_sensors' }));
    const view: DeviceView = {
      id,
      name: info?.name ?? id,
      online: true,
      firmware: info?.firmwareVersion ?? '',
      capabilities: info?.capabilities ?? [],
      bootId: state.bootId,
      firstSeen: 1,
      lastSeen: 2,
      address: null,
      rssi: info?.rssi ?? null,
      linkedSince: 1,
      bootedAt: 1,
    };
    return { view, info, state, sensors };
  } finally {
    await client.close();
    await sim.close();
  }
}

export const demoSnapshot = (): Promise<BoardSnapshot> => snapshotOf(DEMO_BOARD_CONFIG, 'demo');
export const porchSnapshot = (): Promise<BoardSnapshot> => snapshotOf(PORCH_BOARD_CONFIG, 'porch');
