// One quantity's history as a uPlot line chart: the hub's downsampled buckets for the range
// (GET /api/devices/:id/readings with bucket_ms), and, over the last hour, live readings added
// as they arrive.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { Api } from '../api.js';
import { describeError, type ShownError } from '../errors.js';
import { axisTimes, spanText, tickLabels } from '../format.js';
import type { HubModel } from '../model.js';

export const RANGES = [
  { id: '1h', label: '1 h', ms: 3_600_000 },
  { id: '24h', label: '24 h', ms: 86_400_000 },
  { id: '7d', label: '7 d', ms: 7 * 86_400_000 },
] as const;
export type Range = (typeof RANGES)[number];

/** About this many buckets per chart: finer than a phone's width needs, coarse enough to be quick. */
const POINTS = 360;

interface ChartProps {
  api: Api;
  model: HubModel;
  device: string;
  sensor: string;
  quantity: string;
  unit: string | null;
  range: Range;
  onError: (e: ShownError) => void;
}

export function QuantityChart({ api, model, device, sensor, quantity, unit, range, onError }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const [points, setPoints] = useState<number | undefined>(undefined);
  const [span, setSpan] = useState<{ from: number; to: number } | undefined>(undefined);

  useEffect(() => {
    const el = box.current;
    if (el === null) return undefined;
    let plot: uPlot | undefined;
    let stopped = false;
    const xs: number[] = [];
    const ys: number[] = [];
    const to = Date.now();
    const from = to - range.ms;
    setSpan({ from, to });
    const live = range.ms <= 3_600_000;
    const width = () => Math.max(240, el.clientWidth);
    // A canvas takes colours, not CSS variables: read the theme's once.
    const style = getComputedStyle(el);
    const line = style.color;
    const muted = style.getPropertyValue('--muted').trim() || '#5b6470';
    const grid = style.getPropertyValue('--line').trim() || '#d9dde3';
    const draw = () => {
      setPoints(xs.length);
      if (plot === undefined) {
        plot = new uPlot(
          {
            width: width(),
            height: 160,
            legend: { show: false },
            cursor: { drag: { x: false, y: false } },
            // The whole range, however few readings it has; the 1 h chart moves with the clock.
            scales: { x: { time: true, range: () => (live ? [(Date.now() - range.ms) / 1000, Date.now() / 1000] : [from / 1000, to / 1000]) } },
            axes: [
              // Times in the browser's locale (uPlot's own labels are US-style whatever the locale).
              { stroke: muted, grid: { stroke: grid }, ticks: { stroke: grid }, values: (_u, ticks, _axis, _space, incr) => axisTimes(ticks, incr) },
              { size: 72, stroke: muted, grid: { stroke: grid }, ticks: { stroke: grid }, values: (_u, ticks) => tickLabels(ticks, unit) },
            ],
            series: [{}, { label: quantity, stroke: line, width: 1.5, points: { show: false } }],
          },
          [xs, ys],
          el,
        );
      } else plot.setData([xs, ys]);
    };
    api
      .readings(device, { sensor, quantity, from, to, bucketMs: Math.max(1000, Math.round(range.ms / POINTS)) })
      .then((rows) => {
        if (stopped) return;
        for (const r of rows) {
          xs.push(r.ts / 1000);
          ys.push(r.avg);
        }
        draw();
      })
      .catch((err: unknown) => {
        if (!stopped) onError(describeError(err, `${device}: the history of ${sensor} ${quantity}`));
      });
    const stopUpdates = model.onUpdate((u) => {
      if (!live || u.type !== 'reading' || u.device !== device || u.sensor !== sensor) return;
      const value = u.values[quantity];
      if (value === undefined || plot === undefined) return;
      xs.push(u.ts / 1000);
      ys.push(value);
      const cutoff = (Date.now() - range.ms) / 1000;
      while (xs.length > 0 && (xs[0] ?? 0) < cutoff) {
        xs.shift();
        ys.shift();
      }
      draw();
    });
    const resize = new ResizeObserver(() => plot?.setSize({ width: width(), height: 160 }));
    resize.observe(el);
    return () => {
      stopped = true;
      stopUpdates();
      resize.disconnect();
      plot?.destroy();
    };
  }, [api, model, device, sensor, quantity, unit, range]);

  return (
    <div
      class="chart"
      ref={box}
      data-points={points ?? ''}
      role="img"
      aria-label={
        points === undefined || span === undefined
          ? `${sensor} ${quantity}: loading the last ${range.label}`
          : `${sensor} ${quantity} over the last ${range.label} (${spanText(span.from, span.to)}): ${points} points`
      }
    >
      {points === 0 ? <p class="muted small">No readings in the last {range.label}.</p> : null}
    </div>
  );
}
