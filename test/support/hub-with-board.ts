// A test hub with one simulated board linked to it, and the command API posted to as a client
// would: for tests of what the hub relays (or refuses to relay) to a board.
import { startLinkedBoard, type LinkedBoard } from './linked-board.js';
import { eventually, startTestHub, type TestHub } from './test-hub.js';

export interface HubWithBoard {
  hub: TestHub;
  board: LinkedBoard;
  /** POSTs `body` (sent as it is) to the board's command route with the admin token. */
  postCommand(body: string): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function startHubWithBoard(id = 'bench'): Promise<HubWithBoard> {
  const hub = await startTestHub();
  const { token } = await hub.store.addDevice(id, {});
  const board = await startLinkedBoard({ port: hub.link.port, token, id });
  await eventually(async () => ((await hub.deviceLink(id))?.online === true ? true : undefined), 'the board linked');
  return {
    hub,
    board,
    postCommand: async (body) => {
      const response = await fetch(`http://127.0.0.1:${hub.http.port}/api/devices/${id}/commands`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hub.apiToken.token}`, 'content-type': 'application/json' },
        body,
      });
      return { status: response.status, body: await response.json() };
    },
    close: async () => {
      await board.close();
      await hub.close();
    },
  };
}
