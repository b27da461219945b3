// The boards list: every board with its link, firmware, signal and latest values; search and a
// status filter. Ten thousand boards stay quick: only the rows in view are drawn (row-window.ts),
// the list is searched and counted again only when a board's record or its set of sensors
// changed (HubModel.listVersion), not at every reading, and the readings streaming in redraw it
// at most once per animation frame (HubModel), each drawn row only when its own board changed.
// On a phone each row folds into a card (style.css); the table keeps its roles, its row count and
// each row's place in it, so a screen reader still reads it as a table of every board.
import { Component, type VNode } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { ago, sensorSummary, signalStrength } from '../format.js';
import { useModel, useNow } from '../hooks.js';
import type { BoardRow, HubModel } from '../model.js';
import { type Piece, useRowWindow } from '../row-window.js';

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

/** The boards shown (their ids, in the hub's order) and the counts above the list. */
interface Listing {
  ids: string[];
  total: number;
  online: number;
}

function listing(model: HubModel, query: string, show: Show): Listing {
  const ids: string[] = [];
  let online = 0;
  for (const row of model.rows.values()) {
    if (row.device.online) online++;
    if ((show === 'all' || (show === 'online') === row.device.online) && (query === '' || matches(row, query))) ids.push(row.device.id);
  }
  return { ids, total: model.rows.size, online };
}

/** The number of columns, for the spacer rows' single cell. */
const COLUMNS = 6;

/**
 * The rows and spacers as one flat list of keyed children: a row keeps its DOM node (and the
 * keyboard focus) when the runs around it change.
 */
function drawnRows(pieces: readonly Piece[], ids: readonly string[], line: (id: string, index: number) => VNode | null): Array<VNode | null> {
  const out: Array<VNode | null> = [];
  for (const piece of pieces) {
    if (piece.kind === 'gap') {
      out.push(
        <tr key={`g:${piece.key}`} class="gap" aria-hidden="true">
          <td colSpan={COLUMNS} style={{ height: `${piece.px}px` }} />
        </tr>,
      );
    } else {
      for (let i = piece.from; i < piece.to; i++) out.push(line(ids[i] as string, i));
    }
  }
  return out;
}

export function BoardsPage({ model }: { model: HubModel }) {
  useModel(model);
  const [query, setQuery] = useState('');
  const [show, setShow] = useState<Show>('all');
  const now = useNow(10_000);
  const q = query.trim().toLowerCase();
  // listVersion stands for the rows' contents that the listing reads.
  const { ids, total, online } = useMemo(() => listing(model, q, show), [model, model.listVersion, q, show]);
  const rows = useRowWindow(ids, 'board');
  const lostAt = model.current ? null : (model.lostAt ?? now);

  return (
    <section aria-labelledby="boards-title">
      <div class="page-head">
        <h1 id="boards-title">Boards</h1>
        <p class="muted" id="boards-count" aria-live="polite">
          {!model.loaded
            ? 'Loading…'
            : !model.current
              ? `${total} boards; whether they are online is unknown while the hub cannot be reached`
              : `${total} boards, ${online} online${ids.length !== total ? `; showing ${ids.length}` : ''}`}
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
      {model.loaded && total === 0 ? (
        <p class="empty">
          No boards are registered yet. Add one with <code>tether hub add-device ID</code>, then start the board with the token it prints.
        </p>
      ) : (
        <div class="table-wrap">
          {/* Explicit roles: a table laid out as cards (display: grid on a phone) keeps them. The
              row count and each row's index say how many rows there are, drawn or not. */}
          <table
            class="boards"
            role="table"
            aria-labelledby="boards-title"
            aria-rowcount={ids.length + 1}
            data-loaded={model.loaded ? 'true' : 'false'}
            data-query={q}
          >
            <thead role="rowgroup">
              <tr role="row" aria-rowindex={1}>
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
            <tbody role="rowgroup" ref={rows.body} onFocusIn={rows.onFocusIn} onFocusOut={rows.onFocusOut} onKeyDown={rows.onKeyDown}>
              {drawnRows(rows.pieces, ids, (id, index) => {
                const row = model.rows.get(id);
                return row === undefined ? null : <BoardLine key={`b:${id}`} row={row} index={index} now={now} lostAt={lostAt} />;
              })}
            </tbody>
          </table>
          {model.loaded && ids.length === 0 ? <p class="empty">No board matches; clear the search or show all boards.</p> : null}
        </div>
      )}
    </section>
  );
}

interface LineProps {
  row: BoardRow;
  /** Its place in the list shown, from 0. */
  index: number;
  now: number;
  /** When the hub stopped answering, while it does not: the board's state is unknown since. */
  lostAt: number | null;
}

class BoardLine extends Component<LineProps> {
  override shouldComponentUpdate(next: LineProps): boolean {
    const ticks = next.now !== this.props.now && (!next.row.device.online || next.lostAt !== null);
    return next.row !== this.props.row || next.index !== this.props.index || next.lostAt !== this.props.lostAt || ticks;
  }

  override render() {
    const { row, index, now, lostAt } = this.props;
    const { device } = row;
    const signal = signalStrength(device.rssi);
    const known = lostAt === null;
    // Online when the hub went away: seen then, and nothing known since.
    const lastSeen = device.online ? (known ? 'now' : ago(lostAt, now)) : ago(device.lastSeen, now);
    const status = !known ? 'unknown' : device.online ? 'online' : 'offline';
    return (
      <tr role="row" aria-rowindex={index + 2} data-board={device.id} data-online={known ? String(device.online) : 'unknown'}>
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
