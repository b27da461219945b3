// How numbers, times and events read on screen.
import type { SensorSummary, StoredEvent } from './api.js';

export function ago(ts: number | null, now: number): string {
  if (ts === null) return 'never';
  const s = Math.max(0, Math.round((now - ts) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function clockTime(ts: number): string {
  return new Date(ts).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** "14:05": when something happened today or will happen soon. */
export function hourMinute(ts: number): string {
  return new Date(ts).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function dateTime(ts: number): string {
  return new Date(ts).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

const UNIT_TEXT: Record<string, string> = { percent: '%', celsius: '°C' };

export function quantityValue(value: number, unit: string | null): string {
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const text = value.toFixed(Number.isInteger(value) ? 0 : digits);
  if (unit === null || unit === '') return text;
  const shown = UNIT_TEXT[unit] ?? unit;
  return shown === '%' ? `${text} %` : `${text} ${shown}`;
}

/** Axis labels with as many decimals as the tick spacing needs (18.55, 18.60, not 18.6 twice). */
export function tickLabels(ticks: number[], unit: string | null): string[] {
  const step = ticks.length > 1 ? Math.abs((ticks[1] ?? 0) - (ticks[0] ?? 0)) : 1;
  const decimals = step > 0 ? Math.min(6, Math.max(0, -Math.floor(Math.log10(step) + 1e-9))) : 0;
  const shown = unit === null ? '' : (UNIT_TEXT[unit] ?? unit);
  return ticks.map((t) => `${t.toFixed(decimals)}${shown === '' ? '' : ` ${shown}`}`);
}

/** "air 21.3 °C, 45.2 %; chip 31 °C": the few numbers a boards list has room for. */
export function sensorSummary(sensors: readonly SensorSummary[]): string {
  const bySensor = new Map<string, string[]>();
  for (const s of sensors) {
    let values = bySensor.get(s.sensor);
    if (values === undefined) bySensor.set(s.sensor, (values = []));
    values.push(quantityValue(s.lastValue, s.unit));
  }
  return [...bySensor].map(([name, values]) => `${name} ${values.join(', ')}`).join('; ');
}

/** Bars out of 4 and a word, from dBm as WiFi radios report it. */
export function signalStrength(rssi: number | null): { bars: number; word: string } {
  if (rssi === null) return { bars: 0, word: 'unknown' };
  if (rssi >= -55) return { bars: 4, word: 'excellent' };
  if (rssi >= -65) return { bars: 3, word: 'good' };
  if (rssi >= -75) return { bars: 2, word: 'fair' };
  return { bars: 1, word: 'weak' };
}

export function seconds(s: number): string {
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return Number.isInteger(s / 3600) ? `${s / 3600} h` : `${(s / 3600).toFixed(1)} h`;
}

function text(v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    return Object.entries(v)
      .map(([k, x]) => `${k} ${text(x)}`)
      .join(' ');
  }
  return JSON.stringify(v);
}

/** One line of a board's events log. */
export function eventText(e: StoredEvent): string {
  const d = e.data;
  switch (e.type) {
    case 'lease_expired':
      return `lease ended: pin ${text(d['pin'])} back to its safe value ${text(d['value'])} (it held ${text(d['held'])})`;
    case 'online':
      return d['new_boot'] === true ? `linked to the hub (board restarted, boot ${text(d['boot_id']).slice(0, 8)})` : 'linked to the hub again';
    case 'offline':
      return `link lost${d['reason'] !== undefined ? `: ${text(d['reason'])}` : ''}`;
    case 'rule_fired': {
      const { rule, ...rest } = d;
      const detail = Object.entries(rest)
        .map(([k, v]) => `${k} ${text(v)}`)
        .join(', ');
      return `rule ${text(rule)} fired${detail ? ` (${detail})` : ''}`;
    }
    case 'rule_failed':
      return `rule ${text(d['rule'])} failed: ${text(d['code'])}: ${text(d['message'])}`;
    case 'edge':
      return `pin ${text(d['pin'])} went ${d['value'] === 1 ? 'high' : 'low'}`;
    case 'command_reply':
      return `a late reply to ${text(d['action'])}: ${d['ok'] === true ? 'ok' : text(d['error'])}`;
    default:
      return `${e.type} ${JSON.stringify(d)}`;
  }
}
