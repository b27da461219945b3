// The boards list: every board with its link, firmware, signal and latest values; search and a
// status filter. Rows are components that re-render only when their board changed, so a list
// of a thousand boards with readings streaming in stays cheap.
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
          {model.loaded ? `${rows.length} boards, ${online} online${shown.length !== rows.length ? `; showing ${shown.length}` : ''}` : 'Loading…'}
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
          <table class="boards" data-loaded={model.loaded ? 'true' : 'false'}>
            <thead>
              <tr>
                <th scope="col">Board</th>
                <th scope="col">Status</th>
                <th scope="col">Last seen</th>
                <th scope="col" class="wide">Firmware</th>
                <th scope="col">Signal</th>
                <th scope="col">Sensors</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((row) => (
                <BoardLine key={row.device.id} row={row} now={now} />
              ))}
            </tbody>
          </table>
          {model.loaded && shown.length === 0 ? <p class="empty">No board matches; clear the search or show all boards.</p> : null}
        </div>
      )}
    </section>
  );
}

class BoardLine extends Component<{ row: BoardRow; now: number }> {
  override shouldComponentUpdate(next: { row: BoardRow; now: number }): boolean {
    return next.row !== this.props.row || (next.now !== this.props.now && !next.row.device.online);
  }

  override render() {
    const { device } = this.props.row;
    const signal = signalStrength(device.rssi);
    return (
      <tr data-board={device.id} data-online={device.online ? 'true' : 'false'}>
        <th scope="row">
          <a href={`#/board/${encodeURIComponent(device.id)}`}>{device.name}</a>
          {device.name !== device.id ? <span class="muted"> ({device.id})</span> : null}
        </th>
        <td>
          <span class={`status ${device.online ? 'on' : 'off'}`}>{device.online ? 'online' : 'offline'}</span>
        </td>
        <td>{device.online ? 'now' : ago(device.lastSeen, this.props.now)}</td>
        <td class="wide">{device.firmware || '—'}</td>
        <td>
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
        <td class="sensors">{sensorSummary(this.props.row.sensors) || '—'}</td>
      </tr>
    );
  }
}
