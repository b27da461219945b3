// The field types the hub config's sections share (hub, rules, MQTT bridge), each with the
// message a user sees when a value does not fit.
import { z } from 'zod';

// protocol.md §10.1: the hello's device_id; rule names take the same characters.
export const DEVICE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
export const deviceId = z.string({ error: 'expected a device id' }).regex(DEVICE_ID, { error: 'expected a device id: 1–64 letters, digits, _ . or -' });
export const ruleName = z.string({ error: 'expected a name' }).regex(DEVICE_ID, { error: 'expected 1–64 letters, digits, _ . or -' });
export const pinNumber = z.number({ error: 'expected a pin number' }).int({ error: 'expected a whole pin number' }).min(0, { error: 'expected a pin number ≥ 0' }).max(255, { error: 'expected a pin number ≤ 255' });
export const port = z.number({ error: 'expected a TCP port' }).int({ error: 'expected a TCP port' }).min(0, { error: 'expected 0–65535' }).max(65535, { error: 'expected 0–65535' });
export const milliseconds = (min: number, max: number) =>
  z.number({ error: 'expected a number of milliseconds' }).int({ error: 'expected whole milliseconds' }).min(min, { error: `expected ${min}–${max} ms` }).max(max, { error: `expected ${min}–${max} ms` });
// protocol.md §4: a lease is a number of seconds > 0; the board caps it with its max_lease_s.
export const leaseSeconds = z.number({ error: 'expected a number of seconds' }).positive({ error: 'expected a number of seconds > 0' });
