// The simulated world the sim chips measure: slowly varying, seeded signals over clock time.
// A signal is a pure function of (seed, key, time), so the same seed and the same clock time
// give the same values however often, and in whatever order, they are read.
import type { Clock } from '../../common/clock.js';

interface Wave {
  periodMs: number;
  phase: number;
  weight: number;
}

interface Signal {
  waves: Wave[];
  noiseSeed: number;
}

/** Share of a signal's swing given to noise; the waves take the rest. */
const NOISE_SHARE = 0.02;
/** Noise changes smoothly between random values this far apart. */
const NOISE_STEP_MS = 2000;
// One wave per band of periods (30 s – 10 min). A wave's weight grows with its period, so the
// fast waves add ripple and the slow ones the big swings: no signal jumps.
const PERIOD_BANDS_MS: ReadonlyArray<readonly [number, number]> = [
  [300_000, 600_000],
  [120_000, 300_000],
  [30_000, 120_000],
];

export class SimEnvironment {
  readonly seed: number;
  private readonly clock: Clock;
  private readonly signals = new Map<string, Signal>();

  constructor(seed: number, clock: Clock) {
    this.seed = seed;
    this.clock = clock;
  }

  /** Room air, 18–26 °C. */
  temperature(key: string): number {
    return this.signal(`temperature:${key}`, 18, 26);
  }

  /** Room relative humidity, 30–60 %. */
  humidity(key: string): number {
    return this.signal(`humidity:${key}`, 30, 60);
  }

  /** A heater plate or a kettle, 20–80 °C (what a PT-100 on the bench measures). */
  heater(key: string): number {
    return this.signal(`heater:${key}`, 20, 80);
  }

  /** A chip on a powered board: a few degrees above the room, 26–45 °C. */
  electronics(key: string): number {
    return this.signal(`electronics:${key}`, 26, 45);
  }

  /** A light-dependent-resistor divider as a raw u16 reading, 10000 (bright) – 45000 (dark). */
  light(key: string): number {
    return Math.round(this.signal(`light:${key}`, 10_000, 45_000));
  }

  /** A WiFi link's signal strength in dBm, -80 (weak) – -45 (strong), whole numbers as radios report it. */
  wifiSignal(): number {
    return Math.round(this.signal('wifi', -80, -45));
  }

  /** A value that wanders smoothly within [min, max], periods 30 s – 10 min. */
  signal(key: string, min: number, max: number): number {
    const s = this.signalFor(key);
    const t = this.clock.now();
    let wave = 0;
    for (const w of s.waves) wave += w.weight * Math.sin((2 * Math.PI * t) / w.periodMs + w.phase);
    const value = wave * (1 - NOISE_SHARE) + smoothNoise(s.noiseSeed, t) * NOISE_SHARE;
    return min + ((value + 1) / 2) * (max - min);
  }

  /** A seeded stream of uniform numbers in [0, 1), one stream per key (e.g. PIR intervals). */
  random(key: string): () => number {
    return mulberry32(mix32(hashString(key) ^ mix32(this.seed)));
  }

  private signalFor(key: string): Signal {
    let s = this.signals.get(key);
    if (s === undefined) {
      const rand = this.random(`signal:${key}`);
      const waves: Wave[] = PERIOD_BANDS_MS.map(([lo, hi]) => {
        const periodMs = lo + rand() * (hi - lo);
        return { periodMs, phase: rand() * 2 * Math.PI, weight: periodMs ** 1.5 * (0.75 + 0.5 * rand()) };
      });
      const total = waves.reduce((sum, w) => sum + w.weight, 0);
      for (const w of waves) w.weight /= total;
      s = { waves, noiseSeed: Math.floor(rand() * 2 ** 32) };
      this.signals.set(key, s);
    }
    return s;
  }
}

/** Value noise in [-1, 1]: seeded random values every NOISE_STEP_MS, eased in between. */
function smoothNoise(seed: number, t: number): number {
  const step = Math.floor(t / NOISE_STEP_MS);
  const frac = t / NOISE_STEP_MS - step;
  const a = unit(seed, step);
  const b = unit(seed, step + 1);
  const ease = frac * frac * (3 - 2 * frac);
  return (a + (b - a) * ease) * 2 - 1;
}

function unit(seed: number, step: number): number {
  return mix32(seed ^ mix32(step | 0)) / 2 ** 32;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** MurmurHash3's 32-bit finalizer. */
function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
