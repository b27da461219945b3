// What the dashboard knows of the hub: every board with its latest sensor values, the boards'
// reported states, the firmware rollouts, and the events as they come. Loaded from the REST API,
// then kept current by the live stream; views re-render at most once per animation frame however
// many updates came.
import type { HubUpdate } from '../../src/hub/types.js';
import type { Api, DeviceView, JsonObject, RolloutView, SensorSummary } from './api.js';

/** One line of the boards list. Replaced, never changed, so a row re-renders only when it changed. */
export interface BoardRow {
  device: DeviceView;
  sensors: readonly SensorSummary[];
}

export interface ReportedState {
  state: JsonObject;
  /** performance.now() when it arrived: leases' expires_in_s count from here. */
  at: number;
}

export class HubModel {
  readonly rows = new Map<string, BoardRow>();
  readonly states = new Map<string, ReportedState>();
  /** The firmware rollouts by id, each replaced (never changed) when one of its boards' parts changed. */
  readonly rollouts = new Map<number, RolloutView>();
  /** Whether the rollouts came with the last snapshot (a hub that could not list them leaves them as they were). */
  rolloutsLoaded = false;
  loaded = false;
  /**
   * Whether the rows are the hub's word as it is now: false until the first snapshot, and from
   * the moment the live stream drops (the hub is unreachable) until a snapshot loads again.
   */
  current = false;
  /** Date.now() when the hub last stopped answering: what the rows say was true then. */
  lostAt: number | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly updateListeners = new Set<(u: HubUpdate) => void>();
  /** Counts snapshot loads: a view that loaded its own data reloads it when this moves (a reconnect). */
  generation = 0;
  /**
   * Moves when what a list of boards is searched, filtered and counted by may have changed: a
   * board's record (name, firmware, link) or the sensors it has; a new value does not move it.
   * The boards list filters ten thousand boards again only then, not at every reading.
   */
  listVersion = 0;
  private frame: number | undefined;
  /** Counts drops of the stream, so that a snapshot that loaded across one is not taken as current. */
  private losses = 0;
  /** Updates that arrived while a snapshot of the boards was loading, applied on top of it. */
  private pending: HubUpdate[] | undefined;
  /** Rollout updates that arrived while the rollouts were loading, applied on top of them. */
  private pendingRollouts: HubUpdate[] | undefined;

  /**
   * Loads every board with its latest values, and the rollouts; updates arriving meanwhile are
   * applied after. The boards are shown as soon as they are in, without waiting for the rollouts.
   */
  async load(api: Api): Promise<void> {
    const rollouts = this.loadRollouts(api);
    try {
      await this.loadBoards(api);
    } finally {
      await rollouts;
    }
  }

  private async loadBoards(api: Api): Promise<void> {
    this.pending = [];
    const losses = this.losses;
    try {
      const [devices, sensors] = await Promise.all([api.devices(), api.sensors()]);
      const byDevice = new Map<string, SensorSummary[]>();
      for (const { device, ...summary } of sensors) {
        let list = byDevice.get(device);
        if (list === undefined) byDevice.set(device, (list = []));
        list.push(summary);
      }
      this.rows.clear();
      for (const device of devices) this.rows.set(device.id, { device, sensors: byDevice.get(device.id) ?? [] });
      this.loaded = true;
      this.listVersion++;
      // A drop while this snapshot loaded leaves the rows unknown until the next one.
      if (this.losses === losses) {
        this.current = true;
        this.lostAt = null;
      }
      this.generation++;
      const missed = this.pending;
      this.pending = undefined;
      for (const update of missed) this.apply(update);
      // Drawn as soon as it is in, not at the next frame: the frame's paint then need not wait for the drawing.
      this.changedNow();
    } finally {
      this.pending = undefined;
    }
  }

  /** A hub that cannot list its rollouts leaves them as they were. */
  private async loadRollouts(api: Api): Promise<void> {
    this.pendingRollouts = [];
    try {
      const rollouts = await api.rollouts().catch(() => undefined);
      if (rollouts !== undefined) {
        this.rollouts.clear();
        for (const rollout of rollouts) this.rollouts.set(rollout.id, rollout);
        this.rolloutsLoaded = true;
      }
      const missed = this.pendingRollouts;
      this.pendingRollouts = undefined;
      for (const update of missed) this.apply(update);
      this.changed();
    } finally {
      this.pendingRollouts = undefined;
    }
  }

  apply(update: HubUpdate): void {
    if (this.pending !== undefined) {
      this.pending.push(update);
      return;
    }
    if (update.type === 'rollout' && this.pendingRollouts !== undefined) {
      this.pendingRollouts.push(update);
      return;
    }
    for (const listener of this.updateListeners) listener(update);
    switch (update.type) {
      case 'device': {
        const row = this.rows.get(update.device.id);
        this.rows.set(update.device.id, { device: update.device, sensors: row?.sensors ?? [] });
        this.listVersion++;
        break;
      }
      case 'reading': {
        const row = this.rows.get(update.device);
        if (row === undefined) return;
        const sensors = withReading(row.sensors, update);
        // A reading only replaces values, unless it brings a sensor or quantity the row did not have.
        if (sensors.length !== row.sensors.length) this.listVersion++;
        this.rows.set(update.device, { ...row, sensors });
        break;
      }
      case 'state':
        this.setState(update.device, update.state);
        break;
      case 'rollout':
        this.rollouts.set(update.rollout.id, withRolloutBoard(this.rollouts.get(update.rollout.id), update));
        break;
      case 'event':
        return;
    }
    this.changed();
  }

  /**
   * A rollout the page asked for itself (one it started, cancelled, or too old for the list). The
   * stream's updates may have come first and be newer, so a known rollout is only replaced by the
   * answer that ended it, and only while the stream has not said so yet.
   */
  setRollout(view: RolloutView): void {
    const known = this.rollouts.get(view.id);
    if (known !== undefined && !(known.state === 'running' && view.state !== 'running')) return;
    this.rollouts.set(view.id, view);
    this.changed();
  }

  /** The hub stopped answering (its stream dropped): the boards' states are unknown until the next load. */
  lost(): void {
    this.losses++;
    if (!this.current) return;
    this.current = false;
    this.lostAt = Date.now();
    this.changed();
  }

  setState(device: string, state: JsonObject): void {
    this.states.set(device, { state, at: performance.now() });
    this.changed();
  }

  /** Counts the changes: a view that subscribes after it read the model sees whether it missed one. */
  version = 0;

  /** Calls the listener after changes, once per animation frame at most. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls the listener with every update as it is applied (events and readings for logs and charts). */
  onUpdate(listener: (u: HubUpdate) => void): () => void {
    this.updateListeners.add(listener);
    return () => this.updateListeners.delete(listener);
  }

  /** Calls the listeners at once; a frame already asked for is not needed any more. */
  private changedNow(): void {
    this.version++;
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    for (const listener of [...this.listeners]) listener();
  }

  private changed(): void {
    this.version++;
    if (this.frame !== undefined) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined;
      for (const listener of [...this.listeners]) listener();
    });
  }
}

/**
 * The rollout with one board's part replaced (or added: a rollout started elsewhere arrives as one
 * update per board, in wave order, before any of them changes).
 */
function withRolloutBoard(known: RolloutView | undefined, u: Extract<HubUpdate, { type: 'rollout' }>): RolloutView {
  const boards = known?.boards ?? [];
  const at = boards.findIndex((b) => b.device === u.board.device);
  return { ...u.rollout, boards: at < 0 ? [...boards, u.board] : boards.map((b, i) => (i === at ? u.board : b)) };
}

function withReading(sensors: readonly SensorSummary[], r: Extract<HubUpdate, { type: 'reading' }>): SensorSummary[] {
  const next = sensors.filter((s) => s.sensor !== r.sensor || !(s.quantity in r.values));
  for (const [quantity, value] of Object.entries(r.values)) {
    next.push({ sensor: r.sensor, quantity, unit: r.units[quantity] ?? null, lastTs: r.ts, lastValue: value });
  }
  return next.sort((a, b) => (a.sensor === b.sensor ? a.quantity.localeCompare(b.quantity) : a.sensor.localeCompare(b.sensor)));
}
