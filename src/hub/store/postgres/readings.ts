// Sensor readings in PostgreSQL: written in the hub's commits as a few multi-row statements,
// read back raw or downsampled. Each (device, sensor, quantity) is a series row; a reading is
// only (series, ts, value), in its day's partition (partitions.ts).
import type { DeviceSensorSummary, Reading, ReadingBucket, ReadingsQuery, SensorSummary } from '../../types.js';
import { checkTime, READING_ROWS, rowLimit } from '../limits.js';
import type { Queryable } from './db.js';
import { bucketOf } from './port-checks.js';
import { seriesKey, summaryOf, type SeriesRow } from '../rows.js';

const FROM_WHERE = `
  FROM series s JOIN readings r ON r.series = s.id
  WHERE s.device = $1 AND ($2::text IS NULL OR s.sensor = $2) AND ($3::text IS NULL OR s.quantity = $3)
    AND r.ts >= $4 AND r.ts < $5`;

export class ReadingStore {
  /** Series ids by seriesKey(): a commit asks the database only for series it has not seen. */
  private readonly ids = new Map<string, number>();

  /** Stores readings inside the caller's transaction; their days' partitions exist. Timestamps are kept to the ms. */
  async insert(db: Queryable, readings: readonly Reading[]): Promise<void> {
    if (readings.length === 0) return;
    await this.learnSeries(db, readings);
    const series: number[] = [];
    const ts: number[] = [];
    const values: number[] = [];
    // Each series' newest reading in the batch, written to its row once rather than per reading.
    const latest = new Map<number, Reading>();
    for (const r of readings) {
      const id = this.ids.get(seriesKey(r)) as number;
      series.push(id);
      ts.push(Math.round(r.ts));
      values.push(r.value);
      const prev = latest.get(id);
      if (prev === undefined || prev.ts <= r.ts) latest.set(id, r);
    }
    await db.query('INSERT INTO readings (series, ts, value) SELECT * FROM unnest($1::integer[], $2::bigint[], $3::float8[])', [series, ts, values]);
    const newest = [...latest].sort(([a], [b]) => a - b); // rows locked in one order by every hub
    await db.query(
      `UPDATE series s SET last_ts = v.ts, last_value = v.value, unit = v.unit
       FROM unnest($1::integer[], $2::bigint[], $3::float8[], $4::text[]) AS v (id, ts, value, unit)
       WHERE s.id = v.id AND (s.last_ts IS NULL OR s.last_ts <= v.ts)`,
      [newest.map(([id]) => id), newest.map(([, r]) => Math.round(r.ts)), newest.map(([, r]) => r.value), newest.map(([, r]) => r.unit)],
    );
  }

  /** After a rolled-back commit: series it created are gone, and so must their cached ids be. */
  forgetCachedSeries(): void {
    this.ids.clear();
  }

  async query(db: Queryable, q: ReadingsQuery): Promise<ReadingBucket[]> {
    checkTime('from', q.from);
    checkTime('to', q.to);
    const bucket = bucketOf(q.bucketMs);
    const params = [q.device, q.sensor ?? null, q.quantity ?? null, msBound(q.from), msBound(q.to), rowLimit(q.limit, READING_ROWS)];
    if (bucket > 0) {
      // ((ts % b) + b) % b floors for ts < 0 too, where % alone rounds toward zero.
      const { rows } = await db.query<ReadingBucket>(
        `SELECT s.sensor, s.quantity, r.ts - ((r.ts % $7) + $7) % $7 AS ts,
           min(r.value) AS min, max(r.value) AS max, avg(r.value) AS avg, count(*) AS count
         ${FROM_WHERE} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT $6`,
        [...params, bucket],
      );
      return rows.map(({ sensor, quantity, ts, min, max, avg, count }) => ({ sensor, quantity, ts, min, max, avg, count }));
    }
    const { rows } = await db.query<{ sensor: string; quantity: string; ts: number; value: number }>(
      `SELECT s.sensor, s.quantity, r.ts, r.value ${FROM_WHERE} ORDER BY s.sensor, s.quantity, r.ts LIMIT $6`,
      params,
    );
    return rows.map(({ sensor, quantity, ts, value }) => ({ sensor, quantity, ts, min: value, max: value, avg: value, count: 1 }));
  }

  async sensorsOf(db: Queryable, device: string): Promise<SensorSummary[]> {
    const { rows } = await db.query<SeriesRow>(
      'SELECT device, sensor, quantity, unit, last_ts, last_value FROM series WHERE device = $1 AND last_ts IS NOT NULL ORDER BY sensor, quantity',
      [device],
    );
    return rows.map(summaryOf);
  }

  /** The latest value of every series of every board: one query for a whole boards list. */
  async latestOfAll(db: Queryable): Promise<DeviceSensorSummary[]> {
    const { rows } = await db.query<SeriesRow>(
      'SELECT device, sensor, quantity, unit, last_ts, last_value FROM series WHERE last_ts IS NOT NULL ORDER BY device, sensor, quantity',
    );
    return rows.map((s) => ({ device: s.device, ...summaryOf(s) }));
  }

  /** Puts the id of every series of these readings in the cache, making the series that are new. */
  private async learnSeries(db: Queryable, readings: readonly Reading[]): Promise<void> {
    const unknown = new Map<string, Reading>();
    for (const r of readings) {
      const key = seriesKey(r);
      if (!this.ids.has(key) && !unknown.has(key)) unknown.set(key, r);
    }
    if (unknown.size === 0) return;
    const news = [...unknown.values()];
    const columns = [news.map((r) => r.device), news.map((r) => r.sensor), news.map((r) => r.quantity)];
    await db.query(
      `INSERT INTO series (device, sensor, quantity, unit) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
       ON CONFLICT (device, sensor, quantity) DO NOTHING`,
      [...columns, news.map((r) => r.unit)],
    );
    const { rows } = await db.query<{ id: number; device: string; sensor: string; quantity: string }>(
      `SELECT s.id, s.device, s.sensor, s.quantity FROM series s
       JOIN unnest($1::text[], $2::text[], $3::text[]) AS k (device, sensor, quantity)
         ON s.device = k.device AND s.sensor = k.sensor AND s.quantity = k.quantity`,
      columns,
    );
    for (const row of rows) this.ids.set(seriesKey(row), row.id);
  }
}

/**
 * A query's bound as whole ms: ts ≥ x and ts < x hold for the same integer ts as ≥ ⌈x⌉ and
 * < ⌈x⌉; kept within what bigint and a JavaScript number both hold.
 */
export function msBound(x: number): number {
  return Math.min(Math.max(Math.ceil(x), Number.MIN_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
}
