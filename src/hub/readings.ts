// A board's `reading` event (protocol.md §7) as rows of the telemetry store: one number of one
// quantity each. Values that are not finite numbers are left out rather than stored as garbage.
import type { JsonObject } from '../protocol/codec.js';
import type { Reading } from './types.js';

export function readingRows(device: string, body: JsonObject, ts: number): Reading[] {
  const sensor = body['sensor'];
  const values = body['values'];
  if (typeof sensor !== 'string' || typeof values !== 'object' || values === null) return [];
  const units = typeof body['units'] === 'object' && body['units'] !== null ? (body['units'] as Record<string, unknown>) : {};
  const rows: Reading[] = [];
  // for…in rather than Object.entries: this runs for every reading, and makes no arrays.
  for (const quantity in values) {
    const value = (values as Record<string, unknown>)[quantity];
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    const unit = units[quantity];
    rows.push({ device, sensor, quantity, ts, value, unit: typeof unit === 'string' ? unit : null });
  }
  return rows;
}
