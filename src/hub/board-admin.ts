// Registering, re-keying and removing boards while the hub runs (the API's POST /api/devices,
// POST /api/devices/:id/token, DELETE /api/devices/:id). Each change reaches the links at once —
// a rotated or removed board's connection is closed, and its next hello is checked against the
// registry as it is now — and is logged as an event that names who made it.
import type { JsonObject } from '../protocol/codec.js';
import { HubError } from './errors.js';
import type { RegistryView } from './registry-view.js';
import type { HubStore } from './store/port.js';
import type { BoardLinkMaterial, DeviceView, NewBoardLink } from './types.js';

/** The hub's registry of boards, as an admin changes it; `by` is who asks (the API token's name). */
export interface BoardAdmin {
  register(id: string, options: { name?: string }, by: string): Promise<NewBoardLink>;
  /** A new token; the old one stops working at once. */
  rotate(id: string, by: string): Promise<NewBoardLink>;
  /** Unregisters the board and closes its link; its readings and events stay until retention removes them. */
  remove(id: string, by: string): Promise<void>;
}

/** The hub events each change is logged as (docs/api.md), with `data.by`. */
const BOARD_ADMIN_EVENTS = { registered: 'registered', rotated: 'token_rotated', removed: 'removed' } as const;

export interface BoardAdminDeps {
  store: Pick<HubStore, 'addDevice' | 'rotateToken' | 'removeDevice'>;
  /** The hub's view of the registry, read again after each change. */
  registry: Pick<RegistryView, 'refresh'>;
  /** The board as the API shows it (online or not), or undefined when it is not registered. */
  view(id: string): DeviceView | undefined;
  /** A board the hub dials (the config's `devices`): its token and registration come from the config. */
  isDialled(id: string): boolean;
  /** Closes the board's current connection, if any; the link stays for its next hello. */
  disconnect(id: string): void;
  /** Closes the board's link for good and forgets it. */
  forget(id: string): void;
  /** What a board with this token needs to link to the hub as it runs now. */
  material(id: string, token: string): BoardLinkMaterial;
  record(device: string, type: string, data: JsonObject): void;
  /** A board was registered: the hubs sharing the store hear of it (the stream hears of it from the store's registry-write notice). */
  newBoard(id: string): void;
}

export function boardAdmin(deps: BoardAdminDeps): BoardAdmin {
  const registered = (id: string): DeviceView => {
    const device = deps.view(id);
    if (device === undefined) throw new HubError('not_found', `no board ${JSON.stringify(id)} is registered; GET /api/devices lists them, POST /api/devices registers one`);
    return device;
  };
  const notDialled = (id: string, what: string): void => {
    if (deps.isDialled(id)) {
      throw new HubError('bad_request', `${id} is a board the hub dials (devices in the hub config): ${what} there, and restart the hub`);
    }
  };
  const answer = (id: string, token: string): NewBoardLink => ({ device: registered(id), token, link: deps.material(id, token) });
  return {
    async register(id, options, by) {
      if (deps.view(id) !== undefined) {
        throw new HubError('conflict', `a board ${JSON.stringify(id)} is registered already; to give it a new token: POST /api/devices/${encodeURIComponent(id)}/token`);
      }
      const { token } = await deps.store.addDevice(id, options.name !== undefined ? { name: options.name } : {});
      await deps.registry.refresh(id);
      deps.record(id, BOARD_ADMIN_EVENTS.registered, { by, name: options.name ?? id });
      deps.newBoard(id);
      return answer(id, token);
    },
    async rotate(id, by) {
      registered(id);
      notDialled(id, 'change its token');
      const token = await deps.store.rotateToken(id);
      // The connection proved the old key: it must not outlive it.
      deps.disconnect(id);
      deps.record(id, BOARD_ADMIN_EVENTS.rotated, { by });
      return answer(id, token);
    },
    async remove(id, by) {
      registered(id);
      notDialled(id, 'remove it');
      // Unregistered first: the link's closing then tells nobody of a board that is still there.
      await deps.store.removeDevice(id);
      await deps.registry.refresh(id);
      deps.forget(id);
      deps.record(id, BOARD_ADMIN_EVENTS.removed, { by });
    },
  };
}
