// Every board the hub knows, whichever way it is reached: a board that dials in (DeviceLink), a
// board the hub dials (PullLink), or — in a cluster of hubs sharing one store — a board another
// hub holds, reached by passing its commands to that hub (docs/scaling.md). The registry itself
// is the store's (registry-view.ts holds it in memory); this is where a board's liveness, its
// commands and its link's lifetime are decided.
import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../protocol/codec.js';
import { keyOfToken } from '../protocol/auth.js';
import type { HubFacade } from './api/facade.js';
import type { ClusterLink } from './cluster/cluster-link.js';
import type { SharedChange } from './cluster/messages.js';
import type { PulledDeviceConfig } from './config.js';
import { DeviceLink, offlineError, type BoardLinkDeps } from './device-link.js';
import { HubError } from './errors.js';
import type { PullLink } from './pull-link.js';
import type { RegistryView } from './registry-view.js';
import type { HubStore } from './store/port.js';
import type { CommandOptions, DeviceRecord, DeviceView } from './types.js';
import { needsManifestMac, withManifestMac } from './update-mac.js';

export interface BoardDirectoryDeps {
  hubId: string;
  store: HubStore;
  registry: RegistryView;
  /** What every board link needs (its linkChanged and registryChanged are the directory's own). */
  linkDeps: Omit<BoardLinkDeps, 'linkChanged' | 'registryChanged'>;
  /** The boards the hub dials, from its config (their token signs update manifests). */
  pulled: readonly PulledDeviceConfig[];
  /** The link to the other hubs of the cluster; undefined for a hub alone. */
  cluster: () => ClusterLink | undefined;
}

export class BoardDirectory {
  /** Boards the hub dials, by id (hub.ts starts them). */
  readonly pulls = new Map<string, PullLink>();
  private readonly links = new Map<string, DeviceLink>();
  private readonly opening = new Map<string, Promise<DeviceLink | undefined>>();
  /** Registry reads under way, which the hub waits for before it closes the store. */
  private readonly reading = new Set<Promise<unknown>>();
  /** Links closed while what they took may still be committing: a new one waits for them. */
  private readonly settling = new Map<string, Promise<void>>();
  /** How often each board's key changed (link-server.ts keyChanges). */
  private readonly keyCounts = new Map<string, number>();
  private readonly commandPrefix = `h${randomBytes(3).toString('hex')}-`;
  /** What board links are given: the hub's, with the directory told of every change. */
  readonly linkDeps: BoardLinkDeps;

  constructor(private readonly deps: BoardDirectoryDeps) {
    this.linkDeps = { ...deps.linkDeps, linkChanged: (device) => this.publish(device), registryChanged: (device) => this.registryChanged(device) };
  }

  /** The board's link on this hub, dialled or dialling in; undefined when it never linked here. */
  linkOf(id: string): Pick<DeviceLink, 'online' | 'lastState' | 'linkedSince' | 'bootedAt' | 'command'> | undefined {
    return this.pulls.get(id) ?? this.links.get(id);
  }

  /** The link for a board that dials in, opened from the store on first use; undefined for an unregistered id. */
  deviceLink(id: string): Promise<DeviceLink | undefined> {
    const link = this.links.get(id);
    if (link !== undefined && (link.online || this.deps.cluster() === undefined)) return Promise.resolve(link);
    let open = this.opening.get(id);
    if (open === undefined) {
      open = (async () => {
        // In a cluster another hub may have linked the board since it was here and moved its
        // streams on in the store: a link that is down is kept only if the store holds them
        // where it left them, else it is opened again from there.
        if (link !== undefined) {
          await link.settled();
          if (link.matches(await this.deps.store.getLinkState(id))) return link;
          this.drop(id, movedOn(id));
        }
        await this.settling.get(id);
        // A board registered through another hub sharing the store is read when it first dials in.
        if (this.deps.registry.get(id) === undefined && (await this.deps.registry.refresh(id)) === undefined) return undefined;
        const opened = await DeviceLink.open(id, { ...this.linkDeps, store: this.deps.store, commandPrefix: this.commandPrefix });
        this.links.set(id, opened);
        return opened;
      })().finally(() => this.opening.delete(id));
      this.opening.set(id, open);
    }
    return open;
  }

  /** A registry write through this hub's store (the API, the demo): the board is read again and published. */
  registryWritten(id: string): void {
    this.track(this.deps.registry.refresh(id)).then(
      () => this.publish(id),
      (err: unknown) => this.deps.linkDeps.logger.error(`${id}: cannot read its registry entry: ${describe(err)}`),
    );
  }

  /** Ends the board's current connection, keeping its link: it must dial again (a new token). */
  disconnect(id: string): void {
    this.links.get(id)?.disconnect();
  }

  /** Closes and forgets the board's link: its next hello opens it again from the store. */
  drop(id: string, why: HubError): void {
    const link = this.links.get(id);
    if (link === undefined) return;
    link.close(why);
    this.links.delete(id);
    const settled = link.settled().finally(() => {
      if (this.settling.get(id) === settled) this.settling.delete(id);
    });
    this.settling.set(id, settled);
  }

  keyChanged(id: string): void {
    this.keyCounts.set(id, this.keyChanges(id) + 1);
  }

  keyChanges(id: string): number {
    return this.keyCounts.get(id) ?? 0;
  }

  /** The board as the API shows it, or undefined when it is not registered. */
  view(id: string): DeviceView | undefined {
    const device = this.deps.registry.get(id);
    return device === undefined ? undefined : this.withLiveness(device);
  }

  /** Every registered board, sorted by id. */
  views(): DeviceView[] {
    return this.deps.registry.list().map((d) => this.withLiveness(d));
  }

  /**
   * Sends a command to the board: through its link here, or, in a cluster, through the hub that
   * holds it now (the store says which).
   */
  async command(id: string, request: JsonObject, options?: CommandOptions): Promise<JsonObject> {
    const cluster = this.deps.cluster();
    if (cluster !== undefined && this.linkOf(id)?.online !== true) {
      const holder = await this.deps.store.linkedHub(id);
      if (holder !== null && holder !== this.deps.hubId) return cluster.forward(holder, id, request, options);
    }
    return this.commandHere(id, request, options);
  }

  /** A command for a board this hub holds (or held last); never passed on to another hub. */
  readonly commandHere: HubFacade['command'] = async (id, request, options) => {
    const { store, registry } = this.deps;
    // Every command is written down before it is sent (docs/hub.md): refused before asking whether the board is online.
    if (store.health.full) throw store.health.error();
    const link = this.linkOf(id);
    if (link === undefined) {
      if (registry.get(id) === undefined && (await registry.refresh(id)) === undefined) {
        throw new HubError('not_found', `no board ${JSON.stringify(id)} is registered; list them with GET /api/devices`);
      }
      throw offlineError(id);
    }
    const key = needsManifestMac(request) ? await this.boardKey(id) : undefined;
    return link.command(withManifestMac(request, () => key), options);
  };

  /** Another hub of the cluster changed a board: this hub reads it again from the store. */
  sharedChanged(change: Extract<SharedChange, { kind: 'board' }>, from: string): void {
    const { device, what } = change;
    if (what === 'rotated' || what === 'removed') this.keyChanged(device);
    if (what === 'rotated') this.disconnect(device);
    if (what === 'removed') this.drop(device, new HubError('not_found', `${device} was removed through hub ${from} before it answered`));
    void this.track(
      (async () => {
      // The board went to another hub: a connection still open here is a dead one.
      // A link still up here is the board's (it has one connection); a stale one finds out by its keepalive.
      const link = this.links.get(device);
      if (what === 'linked' && link !== undefined && !link.online && (await this.deps.store.linkedHub(device)) !== this.deps.hubId && this.links.get(device) === link) this.drop(device, movedOn(device));
      await this.deps.registry.refresh(device);
      this.publish(device);
      })(),
    ).catch((err: unknown) => this.deps.linkDeps.logger.error(`cluster: cannot read ${device} again after hub ${from} changed it: ${describe(err)}`));
  }

  /** Closes every link that dials in (the hub stops); dialled ones close with their PullLink. */
  closeAll(): void {
    for (const link of this.links.values()) link.close();
  }

  /** Resolves once the registry reads begun so far (and those they begin) have ended: then the store may close. */
  async idle(): Promise<void> {
    while (this.reading.size > 0) await Promise.allSettled([...this.reading]);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.reading.add(work);
    void work.finally(() => this.reading.delete(work)).catch(() => undefined);
    return work;
  }

  /**
   * Read again and published once the store has the write; the other hubs are told then, so
   * that what they read is the write.
   */
  private registryChanged(device: string): void {
    this.track(this.deps.registry.refresh(device)).then(
      () => {
        this.publish(device);
        this.deps.cluster()?.announce({ kind: 'board', device, what: this.linkOf(device)?.online === true ? 'linked' : 'offline' });
      },
      (err: unknown) => this.deps.linkDeps.logger.error(`${device}: cannot read its registry entry: ${describe(err)}`),
    );
  }

  private publish(device: string): void {
    const view = this.view(device);
    if (view !== undefined) this.deps.linkDeps.publish({ type: 'device', device: view });
  }

  private withLiveness(device: DeviceRecord): DeviceView {
    const link = this.linkOf(device.id);
    // Held by another hub of the cluster: the shared registry says whether it is online.
    if (link?.online !== true) return { ...device, online: this.deps.cluster() !== undefined && device.online, linkedSince: null, bootedAt: null };
    // An online board was heard within its outage time, so "now" is its last-seen time.
    return { ...device, online: true, lastSeen: this.deps.linkDeps.wallNow(), linkedSince: link.linkedSince, bootedAt: link.bootedAt };
  }

  /**
   * The key an update's manifest_mac is made with (protocol.md §5.19): a board the hub dials
   * shares its configured token with it, one that dials in its board key.
   */
  private async boardKey(id: string): Promise<Buffer | undefined> {
    const pulled = this.deps.pulled.find((d) => d.id === id);
    if (pulled === undefined) return this.deps.store.keyOf(id);
    return pulled.token === undefined ? undefined : keyOfToken(pulled.token);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Commands a link had sent when the board linked through another hub: they may still run there. */
function movedOn(id: string): HubError {
  return new HubError('timeout', `${id} linked through another hub before it answered; the command stays queued for the board, and its reply goes to the events log`);
}
