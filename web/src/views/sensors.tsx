// A board's sensors: each quantity's latest value, live, and its history chart.
import { useState } from 'preact/hooks';
import type { Api, SensorSummary } from '../api.js';
import type { ShownError } from '../errors.js';
import { ago, quantityValue } from '../format.js';
import { useNow } from '../hooks.js';
import type { HubModel } from '../model.js';
import { QuantityChart, RANGES, type Range } from './chart.js';

interface SensorsProps {
  api: Api;
  model: HubModel;
  device: string;
  sensors: readonly SensorSummary[];
  onError: (e: ShownError) => void;
}

export function SensorsSection({ api, model, device, sensors, onError }: SensorsProps) {
  const [range, setRange] = useState<Range>(RANGES[0]);
  const now = useNow(5000);
  if (sensors.length === 0) return <p class="muted">No readings yet. Sensors from the board config report here once the board links.</p>;
  return (
    <div>
      <div class="ranges" role="group" aria-label="History range">
        {RANGES.map((r) => (
          <button key={r.id} type="button" class="chip" aria-pressed={r.id === range.id} onClick={() => setRange(r)}>
            {r.label}
          </button>
        ))}
      </div>
      <div class="sensor-grid">
        {sensors.map((s) => (
          <article class="sensor" key={`${s.sensor}/${s.quantity}`} data-sensor={s.sensor} data-quantity={s.quantity}>
            <header>
              <h3>
                {s.sensor} <span class="muted">{s.quantity}</span>
              </h3>
              <p class="reading">
                <output>{quantityValue(s.lastValue, s.unit)}</output> <span class="muted small">{ago(s.lastTs, now)}</span>
              </p>
            </header>
            <QuantityChart api={api} model={model} device={device} sensor={s.sensor} quantity={s.quantity} unit={s.unit} range={range} onError={onError} />
          </article>
        ))}
      </div>
    </div>
  );
}
