// A long table drawn in part: only the rows in the window's view, a few more on each side (the
// overscan) and the row that holds the keyboard focus are in the DOM; a spacer row above and
// below each drawn run stands for the rows left out, as tall as they were when last drawn (or as
// the drawn rows are on average). The page itself scrolls, so the scroll bar, the keyboard's
// Page Down and a phone's flick behave as on any page. Tab moves from row to row (the focused
// row's neighbours are always drawn); ArrowUp, ArrowDown, Home and End move the focus a row, or
// to the first or last row, drawing it first.
import type { RefObject } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useReducer, useRef } from 'preact/hooks';

/** Rows drawn beyond each edge of the view, and around the focused row. */
export const OVERSCAN = 8;
/** A row's height before any has been measured: one line of the boards table. */
const FIRST_GUESS_PX = 41;

/** Rows `from` (included) to `to` (excluded) drawn, or a spacer as tall as the rows it stands for. */
export type Piece = { kind: 'rows'; from: number; to: number } | { kind: 'gap'; px: number; key: string };

/** Each row's height as last drawn, by key; rows never drawn count as the average of those drawn. */
class RowHeights {
  private readonly known = new Map<string, number>();
  private sum = 0;
  /** Moves whenever a height changed, so that the offsets are summed again. */
  version = 0;

  get guess(): number {
    return this.known.size === 0 ? FIRST_GUESS_PX : this.sum / this.known.size;
  }

  /** Records a drawn row's height; whether it differs from what was known. */
  set(key: string, px: number): boolean {
    const before = this.known.get(key);
    if (before !== undefined && Math.abs(before - px) < 0.5) return false;
    this.sum += px - (before ?? 0);
    this.known.set(key, px);
    this.version++;
    return true;
  }

  /** offsets[i]: how far below the list's top row i starts; offsets[keys.length]: the list's height. */
  offsets(keys: readonly string[]): Float64Array {
    const guess = this.guess;
    const offsets = new Float64Array(keys.length + 1);
    for (let i = 0; i < keys.length; i++) offsets[i + 1] = (offsets[i] as number) + (this.known.get(keys[i] as string) ?? guess);
    return offsets;
  }
}

/** The index of the row at `y` px below the list's top (the last row's index past the end). */
function rowAt(offsets: Float64Array, y: number): number {
  let low = 0;
  let high = offsets.length - 2;
  if (high < 0) return 0;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((offsets[mid] as number) <= y) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** The part of the list on screen: px below the list's top, from `top` to `bottom`. */
interface View {
  top: number;
  bottom: number;
}

/**
 * What to draw: the rows in view and the focused row, each with its overscan, as runs in order
 * with spacers between them and around them.
 */
export function piecesToDraw(offsets: Float64Array, view: View, focused: number | undefined): Piece[] {
  const count = offsets.length - 1;
  if (count === 0) return [];
  const runs: Array<[number, number]> = [];
  if (view.bottom > 0 && view.top < (offsets[count] as number)) {
    runs.push([Math.max(0, rowAt(offsets, view.top) - OVERSCAN), Math.min(count, rowAt(offsets, view.bottom) + 1 + OVERSCAN)]);
  }
  if (focused !== undefined && focused >= 0 && focused < count) runs.push([Math.max(0, focused - OVERSCAN), Math.min(count, focused + 1 + OVERSCAN)]);
  // Off the list (scrolled far above or below it) and no focus: the first rows, so the list is never empty.
  if (runs.length === 0) runs.push([0, Math.min(count, 1 + 2 * OVERSCAN)]);
  runs.sort((a, b) => a[0] - b[0]);
  const pieces: Piece[] = [];
  let drawnTo = 0;
  const gap = (to: number) => pieces.push({ kind: 'gap', px: (offsets[to] as number) - (offsets[drawnTo] as number), key: `gap-${pieces.length}` });
  for (const [from, to] of runs) {
    if (to <= drawnTo) continue;
    const start = Math.max(from, drawnTo);
    if (start > drawnTo) gap(start);
    const last = pieces.at(-1);
    if (last?.kind === 'rows' && last.to === start) last.to = to;
    else pieces.push({ kind: 'rows', from: start, to });
    drawnTo = to;
  }
  if (drawnTo < count) gap(count);
  return pieces;
}

/** Whether the same rows are drawn (the spacers follow from them). */
const sameRows = (a: readonly Piece[], b: readonly Piece[]) =>
  a.length === b.length && a.every((p, i) => {
    const q = b[i];
    return p.kind === 'rows' ? q?.kind === 'rows' && q.from === p.from && q.to === p.to : q?.kind === 'gap';
  });

export interface RowWindow {
  /** What to draw in the body, top to bottom. */
  pieces: Piece[];
  /** The table body that holds the rows (and nothing else but the spacers). */
  body: RefObject<HTMLTableSectionElement | null>;
  onFocusIn: (e: FocusEvent) => void;
  onFocusOut: (e: FocusEvent) => void;
  onKeyDown: (e: KeyboardEvent) => void;
}

/**
 * Which of `keys` to draw. Each drawn row is a `<tr>` with its key in the data attribute
 * `keyAttribute` (data-board: keyAttribute "board"), holding a link or button to focus.
 */
export function useRowWindow(keys: readonly string[], keyAttribute: string): RowWindow {
  const body = useRef<HTMLTableSectionElement>(null);
  const heights = useRef(new RowHeights()).current;
  const [, redraw] = useReducer((n: number, _: undefined) => n + 1, 0);
  const view = useRef<View>({ top: 0, bottom: window.innerHeight });
  const focusedKey = useRef<string | undefined>(undefined);
  /** A row the keyboard moved to: focused once it is drawn. */
  const focusNext = useRef<string | undefined>(undefined);
  const drawn = useRef<Piece[]>([]);
  const offsets = useMemo(() => heights.offsets(keys), [keys, heights.version]);
  const latest = useRef({ keys, offsets });
  latest.current = { keys, offsets };

  const focusedIndex = () => (focusedKey.current === undefined ? undefined : latest.current.keys.indexOf(focusedKey.current));
  const pieces = piecesToDraw(offsets, view.current, focusedIndex());
  drawn.current = pieces;

  /** Where the list is on screen now; draws again if that brings other rows into view. */
  const look = (): void => {
    const top = body.current?.getBoundingClientRect().top;
    if (top === undefined) return;
    view.current = { top: -top, bottom: window.innerHeight - top };
    if (!sameRows(piecesToDraw(latest.current.offsets, view.current, focusedIndex()), drawn.current)) redraw(undefined);
  };

  useEffect(() => {
    const onResize = () => {
      look();
      // Rows may wrap differently now: measure them again.
      redraw(undefined);
    };
    window.addEventListener('scroll', look, { passive: true });
    window.addEventListener('resize', onResize, { passive: true });
    return () => {
      window.removeEventListener('scroll', look);
      window.removeEventListener('resize', onResize);
    };
  }, []);

  // After every draw: measure the rows drawn, move the focus where the keyboard sent it, and
  // draw again if the measured heights or the list's place on screen change what is in view.
  useLayoutEffect(() => {
    const tbody = body.current;
    if (tbody === null) return;
    let changed = false;
    for (const row of tbody.rows) {
      const key = row.dataset[keyAttribute];
      if (key !== undefined) changed = heights.set(key, row.getBoundingClientRect().height) || changed;
    }
    const target = focusNext.current;
    if (target !== undefined) {
      const row = [...tbody.rows].find((r) => r.dataset[keyAttribute] === target);
      if (row !== undefined) {
        focusNext.current = undefined;
        row.querySelector<HTMLElement>('a, button, [tabindex]')?.focus();
      }
    }
    if (changed) redraw(undefined);
    else look();
  });

  const onFocusIn = (e: FocusEvent): void => {
    const key = (e.target as Element | null)?.closest<HTMLElement>('tr')?.dataset[keyAttribute];
    if (key === undefined || key === focusedKey.current) return;
    focusedKey.current = key;
    // Its neighbours drawn now, before the next Tab.
    redraw(undefined);
  };

  /** The focus left the list: its row need not stay drawn. */
  const onFocusOut = (e: FocusEvent): void => {
    if (!(e.relatedTarget instanceof Node && body.current?.contains(e.relatedTarget) === true)) focusedKey.current = undefined;
  };

  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const at = focusedIndex();
    const { keys: all } = latest.current;
    if (at === undefined || at < 0 || all.length === 0) return;
    const to = e.key === 'ArrowDown' ? at + 1 : e.key === 'ArrowUp' ? at - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? all.length - 1 : undefined;
    if (to === undefined) return;
    e.preventDefault();
    const key = all[Math.max(0, Math.min(all.length - 1, to))];
    if (key === undefined || key === focusedKey.current) return;
    focusedKey.current = key;
    focusNext.current = key;
    redraw(undefined);
  };

  return { pieces, body, onFocusIn, onFocusOut, onKeyDown };
}
