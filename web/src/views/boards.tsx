// The boards list: every board with its link, firmware, signal and latest values; search and a
// status filter. Rows are components that re-render only when their board changed, so a list
// of a thousand boards with readings streaming in stays cheap. On a phone each row folds into a
// card (style.css); the table keeps its roles, so a screen reader still reads it as a table.
import { Component } from 'preact';
import { useState } from 'preact/hooks';
import { ago, sensorSummary, signalStrength } from '../format.js';
import { useModel, useNow } from '../hooks.js';
import type { BoardRow, HubModel } from '../model.js';

type Show = 'all' | 'online' | 'offline';

function matches(row: BoardRow, query: string): boolean {
  const d = row.device;
  return (
    d.id.toLowerCase().includes(query) ||
    d.name.toLowerCase().includes(query) ||
    d.firmware.toLowerCase().includes(query) ||
    row.sensors.some((s) => s.sensor.toLowerCase().includes(query) || s.quantity.toLowerCase().includes(query))
  );
}

export function BoardsPage({ model }: { model: HubModel }) {
  useModel(model);
  const [query, setQuery] = useState('');
  const [show, setShow] = useState<Show>('all');
  const now = useNow(10_000);
  const rows = [...model.rows.values()];
  const online = rows.filter((r) => r.device.online).length;
  const q = query.trim().toLowerCase();
  const shown = rows.filter((r) => (show === 'all' || (show === 'online') === r.device.online) && (q === '' || matches(r, q)));

  return (
    <section aria-labelledby="boards-title">
      <div class="page-head">
        <h1 id="boards-title">Boards</h1>
        <p class="muted" id="boards-count" aria-live="polite">
          {!model.loaded
            ? 'Loading…'
            : !model.current
              ? `${rows.length} boards; whether they are online is unknown while the hub cannot be reached`
              : `${rows.length} boards, ${online} online${shown.length !== rows.length ? `; showing ${shown.length}` : ''}`}
        </p>
      </div>
      <div class="filters" role="search">
        <label>
          Search
          <input type="search" value={query} placeholder="name, firmware or sensor" onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        <label>
          Show
          <select value={show} onChange={(e) => setShow(e.currentTarget.value as Show)}>
            <option value="all">all boards</option>
            <option value="online">online only</option>
            <option value="offline">offline only</option>
          </select>
        </label>
      </div>
      {model.loaded && rows.length === 0 ? (
        <p class="empty">
          No boards are registered yet. Add one with <code>tether hub add-device ID</code>, then start the board with the token it prints.
        </p>
      ) : (
        <div class="table-wrap">
          {/* Explicit roles: a table laid out as cards (display: grid on a phone) keeps them. */}
          <table class="boards" role="table" aria-labelledby="boards-title" data-loaded={model.loaded ? 'true' : 'false'}>
            <thead role="rowgroup">
              <tr role="row">
                <th scope="col" role="columnheader">
                  Board
                </th>
                <th scope="col" role="columnheader">
                  Status
                </th>
                <th scope="col" role="columnheader">
                  Last seen
                </th>
                <th scope="col" role="columnheader" class="wide">
                  Firmware
                </th>
                <th scope="col" role="columnheader">
                  Signal
                </th>
                <th scope="col" role="columnheader">
                  Sensors
                </th>
              </tr>
            </thead>
            <tbody role="rowgroup">
              {shown.map((row) => (
                <BoardLine key={row.device.id} row={row} now={now} lostAt={model.current ? null : (model.lostAt ?? now)} />
              ))}
            </tbody>
          </table>
          {model.loaded && shown.length === 0 ? <p class="empty">No board matches; clear the search or show all boards.</p> : null}
        </div>
      )}
    </section>
  );
}

interface LineProps {
  row: BoardRow;
  now: number;
  /** When the hub stopped answering, while it does not: the board's state is unknown since. */
  lostAt: number | null;
}

class BoardLine extends Component<LineProps> {
  override shouldComponentUpdate(next: LineProps): boolean {
    const ticks = next.now !== this.props.now && (!next.row.device.online || next.lostAt !== null);
    return next.row !== this.props.row || next.lostAt !== this.props.lostAt || ticks;
  }

  override render() {
    const { row, now, lostAt } = this.props;
    const { device } = row;
    const signal = signalStrength(device.rssi);
    const known = lostAt === null;
    // Online when the hub went away: seen then, and nothing known since.
    const lastSeen = device.online ? (known ? 'now' : ago(lostAt, now)) : ago(device.lastSeen, now);
    const status = !known ? 'unknown' : device.online ? 'online' : 'offline';
    return (
      <tr role="row" data-board={device.id} data-online={known ? String(device.online) : 'unknown'}>
        <th scope="row" role="rowheader" class="board-name">
          <a href={`#/board/${encodeURIComponent(device.id)}`}>{device.name}</a>
          {device.name !== device.id ? <span class="muted"> ({device.id})</span> : null}
        </th>
        <td role="cell" class="board-status">
          <span class={`status ${status === 'online' ? 'on' : status === 'offline' ? 'off' : 'unknown'}`} title={known ? undefined : 'The hub cannot be reached: this board may have changed since'}>
            {status}
          </span>
        </td>
        <td role="cell" class="board-seen" data-label="Last seen">
          {lastSeen}
        </td>
        <td role="cell" class="wide">
          {device.firmware || '—'}
        </td>
        <td role="cell" class="board-signal">
          <span class="signal" data-bars={signal.bars} title={device.rssi === null ? 'no signal reported' : `${device.rssi} dBm, ${signal.word}`}>
            <span aria-hidden="true" class="bars">
              <i />
              <i />
              <i />
              <i />
            </span>
            {device.rssi === null ? '—' : `${device.rssi} dBm`}
          </span>
        </td>
        <td role="cell" class="sensors">
          {sensorSummary(row.sensors) || '—'}
        </td>
      </tr>
    );
  }
}
