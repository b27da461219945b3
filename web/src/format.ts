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

// Every date and time in the browser's own locale (Intl with its default locale): 14:05:09 or
// 2:05:09 PM, 5.12.2026 or 12/5/2026, as the person reading is used to. Each formatter is made
// once, at its first use: they are costly to build (the five took some 15 ms of the first load,
// on a 2-core machine), pages format many times a second, and the boards list needs none of them.
function formatter(options: Intl.DateTimeFormatOptions): () => Intl.DateTimeFormat {
  let made: Intl.DateTimeFormat | undefined;
  return () => (made ??= new Intl.DateTimeFormat(undefined, options));
}

const TIME = formatter({ hour: '2-digit', minute: '2-digit', second: '2-digit' });
const HOUR_MINUTE = formatter({ hour: '2-digit', minute: '2-digit' });
const DATE_TIME = formatter({ dateStyle: 'medium', timeStyle: 'medium' });
const SHORT_DATE_TIME = formatter({ dateStyle: 'short', timeStyle: 'short' });
const DAY_MONTH = formatter({ day: 'numeric', month: 'short' });

function sameDay(a: number, b: number): boolean {
  return new Date(a).toDateString() === new Date(b).toDateString();
}

export function clockTime(ts: number): string {
  return TIME().format(ts);
}

/** "14:05": when something happened today or will happen soon. */
export function hourMinute(ts: number): string {
  return HOUR_MINUTE().format(ts);
}

export function dateTime(ts: number): string {
  return DATE_TIME().format(ts);
}

/** The time alone when `ts` is today, with its date otherwise: a log line's time. */
export function logTime(ts: number, now: number): string {
  return sameDay(ts, now) ? TIME().format(ts) : DATE_TIME().format(ts);
}

/** "since 14:05 (3 min ago)", or with its date when not today. */
export function sinceText(ts: number, now: number): string {
  return `${sameDay(ts, now) ? HOUR_MINUTE().format(ts) : SHORT_DATE_TIME().format(ts)} (${ago(ts, now)})`;
}

/**
 * A time chart's axis labels (ticks in seconds, as uPlot gives them): the hour and minute, or
 * the day and month at midnight and when ticks are a day or more apart.
 */
export function axisTimes(ticks: number[], incrS: number): string[] {
  return ticks.map((t) => {
    const d = new Date(t * 1000);
    const midnight = d.getHours() === 0 && d.getMinutes() === 0;
    return incrS >= 86_400 || midnight ? DAY_MONTH().format(d) : HOUR_MINUTE().format(d);
  });
}

/** A chart's span in words, for its accessible name: "04.12.26, 14:05 to 05.12.26, 14:05" in de-DE. */
export function spanText(from: number, to: number): string {
  return `${SHORT_DATE_TIME().format(from)} to ${SHORT_DATE_TIME().format(to)}`;
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
    // A no-break space: a narrow card wraps between values, never between a number and its unit.
    values.push(quantityValue(s.lastValue, s.unit).replace(' ', '\u00a0'));
  }
  return [...bySensor].map(([name, values]) => `${name}\u00a0${values.join(', ')}`).join('; ');
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

/** "42 s", "12 min 5 s", "5 h 12 min", "3 d 5 h": a time up or away, to the second for the first hour. */
export function duration(totalS: number): string {
  const s = Math.floor(totalS);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** "812 B", "79.3 KB", "1.2 MB": a file's or an upload's size (1 KB = 1024 bytes). */
export function byteSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
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
    case 'rule_changed':
      return `rule ${text(d['rule'])} ${text(d['change'])}${d['was'] !== undefined ? ` (was ${text(d['was'])})` : ''} by ${text(d['by'])}`;
    case 'registered':
      return `registered by ${text(d['by'])}`;
    case 'token_rotated':
      return `given a new token by ${text(d['by'])}; the old one no longer links`;
    case 'removed':
      return `removed from the hub by ${text(d['by'])}`;
    case 'edge':
      return `pin ${text(d['pin'])} went ${d['value'] === 1 ? 'high' : 'low'}`;
    case 'rollout_started':
      return `in rollout ${text(d['rollout'])} of ${text(d['version'])} (wave ${text(d['wave'])}), started by ${text(d['by'])}`;
    case 'rollout_result': {
      const error = d['error'] as { code?: unknown } | undefined;
      return `rollout ${text(d['rollout'])} of ${text(d['version'])}: ${text(d['state'])}${error !== undefined ? ` (${text(error.code)})` : ''}`;
    }
    case 'rollout_ended':
      return `rollout ${text(d['rollout'])} of ${text(d['version'])} ended ${text(d['state'])}`;
    case 'command_reply':
      return `a late reply to ${text(d['action'])}: ${d['ok'] === true ? 'ok' : text(d['error'])}`;
    default:
      return `${e.type} ${JSON.stringify(d)}`;
  }
}
