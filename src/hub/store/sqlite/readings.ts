// Sensor readings: written in the hub's commits, read back raw or downsampled, and aged out.
// Each (device, sensor, quantity) is a series row; a reading is only (series, ts, value).
import type Database from 'better-sqlite3';
import { HubError } from '../../errors.js';
import type { DeviceSensorSummary, Reading, ReadingBucket, ReadingsQuery, SensorSummary } from '../../types.js';
import { checkTime, READING_ROWS, rowLimit } from '../limits.js';
import { sameSeries, seriesKey, summaryOf, type SeriesRow } from '../rows.js';

interface Filter {
  device: string;
  sensor: string | null;
  quantity: string | null;
  from: number;
  to: number;
  limit: number;
}

// CROSS JOIN keeps series as the outer loop: its unique index yields (sensor, quantity) in
// order, and each series' (series, ts) index range yields ts in order, so nothing is sorted.
const FROM_WHERE = `
  FROM series s CROSS JOIN readings r ON r.series = s.id
  WHERE s.device = @device AND (@sensor IS NULL OR s.sensor = @sensor) AND (@quantity IS NULL OR s.quantity = @quantity)
    AND r.ts >= @from AND r.ts < @to`;

/** Rows per multi-row INSERT: one statement run for 32 rows costs far less than 32 runs. */
const INSERT_ROWS = 32;

function statements(db: Database.Database) {
  return {
    seriesId: db.prepare<[string, string, string], { id: number }>('SELECT id FROM series WHERE device = ? AND sensor = ? AND quantity = ?'),
    newSeries: db.prepare<[string, string, string, string | null]>('INSERT INTO series (device, sensor, quantity, unit) VALUES (?, ?, ?, ?)'),
    insert: db.prepare<[number, number, number]>('INSERT INTO readings (series, ts, value) VALUES (?, ?, ?)'),
    insertMany: db.prepare<[number[]]>(`INSERT INTO readings (series, ts, value) VALUES ${Array.from({ length: INSERT_ROWS }, () => '(?, ?, ?)').join(', ')}`),
    latest: db.prepare<{ id: number; ts: number; value: number; unit: string | null }>(
      `UPDATE series SET last_ts = @ts, last_value = @value, unit = @unit
       WHERE id = @id AND (last_ts IS NULL OR last_ts <= @ts)`,
    ),
    raw: db.prepare<Filter, { sensor: string; quantity: string; ts: number; value: number }>(
      `SELECT s.sensor, s.quantity, r.ts, r.value ${FROM_WHERE} ORDER BY s.sensor, s.quantity, r.ts LIMIT @limit`,
    ),
    // ((ts % b) + b) % b floors for ts < 0 too, where SQLite's % alone would round toward zero.
    buckets: db.prepare<Filter & { bucket: number }, Omit<ReadingBucket, 'ts'> & { start: number }>(
      `SELECT s.sensor, s.quantity, r.ts - ((r.ts % @bucket) + @bucket) % @bucket AS start,
         min(r.value) AS min, max(r.value) AS max, avg(r.value) AS avg, count(*) AS count
       ${FROM_WHERE} GROUP BY s.sensor, s.quantity, start ORDER BY s.sensor, s.quantity, start LIMIT @limit`,
    ),
    sensors: db.prepare<[string], SeriesRow>(
      'SELECT device, sensor, quantity, unit, last_ts, last_value FROM series WHERE device = ? AND last_ts IS NOT NULL ORDER BY sensor, quantity',
    ),
    allSensors: db.prepare<[], SeriesRow>(
      'SELECT device, sensor, quantity, unit, last_ts, last_value FROM series WHERE last_ts IS NOT NULL ORDER BY device, sensor, quantity',
    ),
    pruneChunk: db.prepare<[number, number]>(
      'DELETE FROM readings WHERE rowid IN (SELECT rowid FROM readings WHERE ts < ? ORDER BY ts LIMIT ?)',
    ),
  };
}

export class ReadingStore {
  private readonly sql: ReturnType<typeof statements>;
  /** Series ids by seriesKey(): a commit looks each reading's series up here, not in SQL. */
  private readonly ids = new Map<string, number>();
  /** The series seriesOf() looked up last, and its id. */
  private last: { reading: Reading; id: number } | undefined;
  /** insertMany's parameters, filled again for each run. */
  private readonly manyArgs: number[] = new Array<number>(3 * INSERT_ROWS).fill(0);

  constructor(db: Database.Database) {
    this.sql = statements(db);
  }

  /** Stores readings; runs inside the caller's transaction. Timestamps are kept to the ms. */
  insert(readings: readonly Reading[]): void {
    // Each series' newest reading in the batch, written to its row once rather than per reading.
    const latest = new Map<number, Reading>();
    const args = this.manyArgs;
    let i = 0;
    for (; i + INSERT_ROWS <= readings.length; i += INSERT_ROWS) {
      for (let j = 0; j < INSERT_ROWS; j++) {
        const r = readings[i + j] as Reading;
        const id = this.seriesOf(r);
        args[3 * j] = id;
        args[3 * j + 1] = Math.round(r.ts);
        args[3 * j + 2] = r.value;
        noteLatest(latest, id, r);
      }
      this.sql.insertMany.run(args);
    }
    for (; i < readings.length; i++) {
      const r = readings[i] as Reading;
      const id = this.seriesOf(r);
      this.sql.insert.run(id, Math.round(r.ts), r.value);
      noteLatest(latest, id, r);
    }
    for (const [id, r] of latest) this.sql.latest.run({ id, ts: Math.round(r.ts), value: r.value, unit: r.unit });
  }

  /** After a rolled-back commit: series it created are gone, and so must their cached ids be. */
  forgetCachedSeries(): void {
    this.ids.clear();
    this.last = undefined;
  }

  query(q: ReadingsQuery): ReadingBucket[] {
    checkTime('from', q.from);
    checkTime('to', q.to);
    const bucket = q.bucketMs ?? 0;
    if (!Number.isInteger(bucket) || bucket < 0) throw new HubError('bad_request', `bucketMs: expected a whole number of ms ≥ 0, got ${bucket}`);
    const filter: Filter = {
      device: q.device,
      sensor: q.sensor ?? null,
      quantity: q.quantity ?? null,
      from: q.from,
      to: q.to,
      limit: rowLimit(q.limit, READING_ROWS),
    };
    if (bucket > 0) {
      return this.sql.buckets.all({ ...filter, bucket }).map(({ sensor, quantity, start, min, max, avg, count }) => ({ sensor, quantity, ts: start, min, max, avg, count }));
    }
    return this.sql.raw.all(filter).map(({ sensor, quantity, ts, value }) => ({ sensor, quantity, ts, min: value, max: value, avg: value, count: 1 }));
  }

  sensorsOf(device: string): SensorSummary[] {
    return this.sql.sensors.all(device).map(summaryOf);
  }

  /** The latest value of every series of every board: one query for a whole boards list. */
  latestOfAll(): DeviceSensorSummary[] {
    return this.sql.allSensors.all().map((s) => ({ device: s.device, ...summaryOf(s) }));
  }

  /**
   * Deletes up to `limit` readings older than `cutoff`, oldest first, in a transaction of its
   * own. sensorsOf still shows the latest point of a series whose readings are all gone.
   */
  pruneChunk(cutoff: number, limit: number): number {
    return this.sql.pruneChunk.run(cutoff, limit).changes;
  }

  private seriesOf(r: Reading): number {
    if (this.last !== undefined && sameSeries(this.last.reading, r)) return this.last.id;
    const key = seriesKey(r);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.sql.seriesId.get(r.device, r.sensor, r.quantity)?.id ?? Number(this.sql.newSeries.run(r.device, r.sensor, r.quantity, r.unit).lastInsertRowid);
      this.ids.set(key, id);
    }
    this.last = { reading: r, id };
    return id;
  }
}

function noteLatest(latest: Map<number, Reading>, id: number, r: Reading): void {
  const prev = latest.get(id);
  if (prev === undefined || prev.ts <= r.ts) latest.set(id, r);
}
