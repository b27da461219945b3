// One board: its link and firmware, its pins with lease controls, its sensors with history, and
// its events as a log. The page loads the board's detail and recent events over REST, then
// follows the live stream; after a reconnect it loads them again.
import { useEffect, useState } from 'preact/hooks';
import { mayAdmin, type Api, type ApiIdentity, type StoredEvent } from '../api.js';
import { describeError, type ShownError } from '../errors.js';
import { ago, duration, eventText, logTime, sinceText, signalStrength } from '../format.js';
import { useModel, useNow } from '../hooks.js';
import type { HubModel } from '../model.js';
import { BoardAdminSection } from './board-admin.js';
import { PinsSection, type Revert } from './pins.js';
import { SensorsSection } from './sensors.js';

const EVENTS_SHOWN = 100;

interface BoardProps {
  api: Api;
  model: HubModel;
  id: string;
  /** Whether the token may switch outputs (control or admin scope). */
  mayControl: boolean;
  identity: ApiIdentity | undefined;
  onError: (e: ShownError) => void;
}

export function BoardPage({ api, model, id, mayControl, identity, onError }: BoardProps) {
  useModel(model);
  const now = useNow(10_000);
  const [missing, setMissing] = useState(false);
  const [events, setEvents] = useState<StoredEvent[] | undefined>(undefined);
  const [reverts, setReverts] = useState<ReadonlyMap<number, Revert>>(new Map());

  useEffect(() => {
    let stopped = false;
    setMissing(false);
    const asked = performance.now();
    api
      .state(id)
      .then((state) => {
        // A state the stream brought while this request was out is newer than its answer.
        if (!stopped && state !== null && (model.states.get(id)?.at ?? -Infinity) < asked) model.setState(id, state);
      })
      .catch((err: unknown) => {
        if (stopped) return;
        if ((err as { code?: string }).code === 'not_found') setMissing(true);
        else onError(describeError(err, `loading board ${id}`));
      });
    api
      .events(id, EVENTS_SHOWN)
      .then((list) => !stopped && setEvents(list))
      .catch((err: unknown) => !stopped && onError(describeError(err, `loading the events of ${id}`)));
    const stopUpdates = model.onUpdate((u) => {
      if (u.type !== 'event' || u.device !== id) return;
      const e = u.event;
      setEvents((list) => [e, ...(list ?? []).filter((x) => x.id !== e.id)].slice(0, EVENTS_SHOWN));
      if (e.type === 'lease_expired' && typeof e.data['pin'] === 'number') {
        const pin = e.data['pin'];
        setReverts((old) => new Map(old).set(pin, { value: Number(e.data['value']), at: e.ts }));
      }
    });
    return () => {
      stopped = true;
      stopUpdates();
    };
    // model.generation: a reconnect may have missed events and states; load them again.
  }, [api, model, id, model.generation]);

  const row = model.rows.get(id);
  if (missing) {
    return (
      <section>
        <h1>No board “{id}”</h1>
        <p>
          This hub has no board of that id. <a href="#/">Back to the boards list</a>.
        </p>
      </section>
    );
  }
  if (row === undefined) return <p class="loading">Loading {id}…</p>;
  const { device } = row;
  const signal = signalStrength(device.rssi);
  const reported = model.states.get(id);
  // While the hub cannot be reached, whether the board is still online is unknown.
  const known = model.current;
  const linked = known && device.online;

  return (
    <section aria-labelledby="board-title" data-board-page={id}>
      <p class="crumbs">
        <a href="#/">Boards</a> / {device.id}
      </p>
      <div class="page-head">
        <h1 id="board-title">{device.name}</h1>
        {!known ? (
          <span class="status unknown" data-online="unknown">
            unknown: the hub cannot be reached{device.online && model.lostAt !== null ? ` (last known online ${ago(model.lostAt, now)})` : ''}
          </span>
        ) : (
          <span class={`status ${device.online ? 'on' : 'off'}`} data-online={device.online ? 'true' : 'false'}>
            {device.online ? 'online' : `offline, last seen ${ago(device.lastSeen, now)}`}
          </span>
        )}
      </div>
      <dl class="facts">
        <div>
          <dt>Firmware</dt>
          <dd>{device.firmware || '—'}</dd>
        </div>
        <div>
          <dt>Signal</dt>
          <dd>{device.rssi === null ? 'not reported' : `${device.rssi} dBm (${signal.word})`}</dd>
        </div>
        <div>
          <dt>Up for</dt>
          <dd data-fact="uptime">{linked && device.bootedAt !== null ? <Uptime bootedAt={device.bootedAt} /> : known ? '—' : 'unknown'}</dd>
        </div>
        <div>
          <dt>Linked since</dt>
          <dd data-fact="linked-since">
            {!known ? 'unknown' : linked && device.linkedSince !== null ? sinceText(device.linkedSince, now) : device.firstSeen === null ? 'never linked' : 'not linked now'}
          </dd>
        </div>
      </dl>
      {known && !device.online ? <p class="notice">This board is offline: its pins show what it last reported, and its controls come back when it does (the hub never queues commands for later).</p> : null}

      <h2>Pins</h2>
      {!mayControl && identity !== undefined ? (
        <p class="notice" data-read-only>
          Signed in with the token {identity.name}, which may only read: switching outputs needs a token with the control scope.
        </p>
      ) : null}
      <PinsSection api={api} device={id} online={linked} mayControl={mayControl} reported={reported} reverts={reverts} onError={onError} />

      <h2>Sensors</h2>
      <SensorsSection api={api} model={model} device={id} sensors={row.sensors} onError={onError} />

      <h2>Events</h2>
      {events === undefined ? (
        <p class="muted">Loading…</p>
      ) : events.length === 0 ? (
        <p class="muted">No events yet: leases that end, links and rule firings show here.</p>
      ) : (
        <ol class="events">
          {events.map((e) => (
            <li key={e.id} data-type={e.type}>
              <time dateTime={new Date(e.ts).toISOString()}>{logTime(e.ts, now)}</time> <span class={`etype ${e.type}`}>{e.type.replace('_', ' ')}</span> {eventText(e)}
            </li>
          ))}
        </ol>
      )}

      {mayAdmin(identity) ? <BoardAdminSection api={api} model={model} id={id} onError={onError} /> : null}
    </section>
  );
}

/** How long the board has been up, counted on every second from when its current boot started. */
function Uptime({ bootedAt }: { bootedAt: number }) {
  const now = useNow(1000);
  const s = Math.max(0, Math.floor((now - bootedAt) / 1000));
  return <time dateTime={`PT${s}S`}>{duration(s)}</time>;
}
