// What the web bench runs inside each page it opens, before the page's own scripts (an init
// script): the same probe in the dashboard and in the static baseline page, so that both are
// timed alike. Every time is performance.now() in the page (ms since the navigation started),
// taken at the start of the frame AFTER the one that drew the change: that frame was laid out and
// painted, so the change was on screen.
//
//   shown        dashboard: the list is loaded and its first rows are drawn; static page: loaded
//   interactive  dashboard only: then a search for `board` (typed into Search as one input event,
//                at once) shows only that board
//   keys[]       for each key pressed in the search box: from its keydown to the list showing
//                what the box then holds (the static page has nothing to filter: to the key echoed)
//   mark()       counters to difference over a window: stream messages received, redraws of the
//                list (MutationObserver callbacks on it: each one a batch of DOM changes), frames
export interface ProbeMark {
  at: number;
  messages: number;
  redraws: number;
  frames: number;
  /** Board rows in the DOM now. */
  rows: number;
}

export interface ProbeResult {
  shown?: number;
  interactive?: number;
  keys: number[];
}

export function pageProbe(mode: 'dashboard' | 'static', board: string): string {
  return `(() => {
  const probe = { keys: [], messages: 0, redraws: 0, frames: 0 };
  window.__probe = probe;
  const BOARD = ${JSON.stringify(board)};
  const afterNextFrame = (then) => requestAnimationFrame(() => then(performance.now()));
  probe.mark = () => ({ at: performance.now(), messages: probe.messages, redraws: probe.redraws, frames: probe.frames, rows: document.querySelectorAll('tr[data-board]').length });
  (function frame() { probe.frames++; requestAnimationFrame(frame); })();

  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); this.addEventListener('message', () => probe.messages++); }
  };

  const rows = () => document.querySelectorAll('tr[data-board]');
  if (${JSON.stringify(mode)} === 'static') {
    window.addEventListener('load', () => requestAnimationFrame(() => afterNextFrame((t) => (probe.shown = t))));
  } else {
    (function watch() {
      const table = document.querySelector('table.boards[data-loaded="true"]');
      if (probe.shown === undefined) {
        if (table !== null && rows().length > 0) {
          afterNextFrame((t) => (probe.shown = t));
          new MutationObserver(() => probe.redraws++).observe(table, { subtree: true, childList: true, characterData: true, attributes: true });
          const input = document.querySelector('input[type="search"]');
          input.value = BOARD;
          input.dispatchEvent(new Event('input', { bubbles: true }));
        }
      } else if (table.dataset.query === BOARD && rows().length === 1 && rows()[0].dataset.board === BOARD) {
        afterNextFrame((t) => (probe.interactive = t));
        return;
      }
      requestAnimationFrame(watch);
    })();
  }

  // A key in the search box: timed from its keydown until the list shows what the box holds.
  let key;
  const isSearch = (e) => e.target instanceof HTMLInputElement && e.target.type === 'search';
  document.addEventListener('keydown', (e) => { if (isSearch(e)) key = { t0: e.timeStamp }; }, true);
  document.addEventListener('input', (e) => {
    if (!isSearch(e) || key === undefined) return;
    const { t0 } = key;
    const query = e.target.value.trim().toLowerCase();
    key = undefined;
    // From the next frame on (this listener runs before the page's own), as for the static page.
    requestAnimationFrame(function check() {
      const table = document.querySelector('table.boards');
      const done = table === null || table.dataset.loaded === undefined || table.dataset.query === query;
      if (done) afterNextFrame((t) => probe.keys.push(t - t0));
      else requestAnimationFrame(check);
    });
  }, true);
})();`;
}
