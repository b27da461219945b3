// What boards reported over time: readings (raw or downsampled) and events.
import type { EventsQuery } from '../types.js';
import { requireDevice } from './routes-devices.js';
import { type ApiContext, type ApiRoute, DEVICE_ID_PARAMS, deviceIdOf, limitSchema, listOf, paramsSchema } from './route-spec.js';
import { HOUR_MS, instantSchema, optionalRange, rangeEndingNow, type TimeQuery } from './time-query.js';

export const READINGS_LIMIT = { default: 10_000, max: 10_000 };
export const EVENTS_LIMIT = { default: 100, max: 1000 };

const READINGS_QUERY = paramsSchema({
  sensor: { type: 'string', minLength: 1, description: 'Only this sensor (a name from the board config).' },
  quantity: { type: 'string', minLength: 1, description: 'Only this quantity, e.g. temperature.' },
  from: instantSchema('Start, inclusive (default: an hour before `to`)'),
  to: instantSchema('End, exclusive (default: now)'),
  bucket_ms: { type: 'integer', minimum: 0, default: 0, description: 'Downsample into buckets this long (min, max, avg, count each); 0 for raw points.' },
  limit: limitSchema(READINGS_LIMIT.default, READINGS_LIMIT.max),
});

interface ReadingsQueryString extends TimeQuery {
  sensor?: string;
  quantity?: string;
  bucket_ms: number;
  limit: number;
}

const EVENT_FILTERS = {
  type: { type: 'string', minLength: 1, description: 'Only events of this type, e.g. lease_expired, online, rule_fired.' },
  after_id: { type: 'integer', minimum: 0, description: 'Only events with a larger id: pass the last id seen to page forward.' },
  from: instantSchema('Start, inclusive'),
  to: instantSchema('End, exclusive'),
  limit: limitSchema(EVENTS_LIMIT.default, EVENTS_LIMIT.max),
};

interface EventsQueryString extends TimeQuery {
  device?: string;
  type?: string;
  after_id?: number;
  limit: number;
}

function eventsQuery(query: EventsQueryString, device: string | undefined): EventsQuery {
  return { device, type: query.type, afterId: query.after_id, limit: query.limit, ...optionalRange(query) };
}

const EVENTS_RESPONSE = { status: 200, description: 'The matching events.', schema: listOf('events', 'StoredEvent') };

export function telemetryRoutes({ facade, now }: ApiContext): ApiRoute[] {
  return [
    {
      method: 'GET',
      url: '/api/sensors',
      operationId: 'listSensors',
      summary: "Every board's sensors with their latest value: one call for a whole boards list.",
      scope: 'read',
      response: { status: 200, description: 'The latest point of every series, by device, sensor and quantity.', schema: listOf('sensors', 'DeviceSensorSummary') },
      handle: async () => ({ sensors: await facade.latestSensors() }),
    },
    {
      method: 'GET',
      url: '/api/devices/:id/readings',
      operationId: 'getReadings',
      summary: "A board's readings in a time range, raw or downsampled.",
      scope: 'read',
      params: DEVICE_ID_PARAMS,
      querystring: READINGS_QUERY,
      errors: ['not_found'],
      response: { status: 200, description: 'The readings, raw points or buckets.', schema: listOf('readings', 'ReadingBucket') },
      handle: async (request) => {
        const device = requireDevice(facade, deviceIdOf(request)).id;
        const query = request.query as ReadingsQueryString;
        const { from, to } = rangeEndingNow(query, now(), HOUR_MS);
        const readings = await facade.readings({
          device,
          sensor: query.sensor,
          quantity: query.quantity,
          from,
          to,
          bucketMs: query.bucket_ms,
          limit: query.limit,
        });
        return { readings };
      },
    },
    {
      method: 'GET',
      url: '/api/devices/:id/events',
      operationId: 'getDeviceEvents',
      summary: "A board's stored events.",
      scope: 'read',
      params: DEVICE_ID_PARAMS,
      querystring: paramsSchema(EVENT_FILTERS),
      errors: ['not_found'],
      response: EVENTS_RESPONSE,
      handle: async (request) => {
        const device = requireDevice(facade, deviceIdOf(request)).id;
        return { events: await facade.events(eventsQuery(request.query as EventsQueryString, device)) };
      },
    },
    {
      method: 'GET',
      url: '/api/events',
      operationId: 'getEvents',
      summary: 'Stored events of every board (or of one, with `device`).',
      scope: 'read',
      querystring: paramsSchema({ device: { type: 'string', minLength: 1, description: 'Only this board.' }, ...EVENT_FILTERS }),
      response: EVENTS_RESPONSE,
      handle: async (request) => {
        const query = request.query as EventsQueryString;
        return { events: await facade.events(eventsQuery(query, query.device)) };
      },
    },
  ];
}
