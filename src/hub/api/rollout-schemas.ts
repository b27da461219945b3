// The OpenAPI schemas of a release and a rollout (types.ts: ReleaseView, RolloutView,
// RolloutBoardView) and of a rollout's stream update, kept beside each other so that openapi.ts
// takes them in with one line each.
import type { JsonSchema } from './route-spec.js';

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string): JsonSchema => ({ type: [type, 'null'] });

const ROLLOUT_SUMMARY_PROPERTIES = {
  id: { type: 'integer', minimum: 1 },
  version: { type: 'string', description: 'The release (tether hub release list).' },
  waveSize: { type: 'integer', minimum: 1, description: 'How many boards the first wave has.' },
  state: {
    enum: ['running', 'done', 'stopped', 'cancelled'],
    description: '`done`: every board holds the release; `stopped`: a board failed (see reason) and no board started after it; `cancelled`: see reason.',
  },
  createdBy: { type: 'string', description: 'The name of the API token that started it.' },
  createdAt: { type: 'integer', description: 'Wall-clock ms.' },
  endedAt: nullable('integer'),
  reason: {
    oneOf: [
      {
        type: 'object',
        required: ['device', 'code', 'message'],
        properties: { device: nullable('string'), code: { type: 'string' }, message: { type: 'string' } },
      },
      { type: 'null' },
    ],
    description: 'Why it stopped (the board and its error code) or who cancelled it (code `cancelled`); null otherwise.',
  },
} as const;

const SUMMARY_REQUIRED = Object.keys(ROLLOUT_SUMMARY_PROPERTIES);

export const ROLLOUT_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  ReleaseView: {
    type: 'object',
    required: ['version', 'addedAt', 'files', 'totalBytes', 'digest'],
    properties: {
      version: { type: 'string', description: 'Its VERSION, which names it (tether hub release list).' },
      addedAt: { type: 'integer', description: 'Wall-clock ms when it was added.' },
      files: { type: 'integer', minimum: 1, description: 'How many files a board takes from it.' },
      totalBytes: { type: 'integer', minimum: 0, description: 'Their bytes together: what a board holding none of them is sent.' },
      digest: { type: 'string', description: 'The SHA-256 over its manifest.' },
    },
  },
  RolloutBoardView: {
    type: 'object',
    required: ['device', 'wave', 'state', 'phase', 'fromVersion', 'version', 'sentBytes', 'totalBytes', 'error', 'startedAt', 'endedAt'],
    properties: {
      device: { type: 'string' },
      wave: { enum: [1, 2] },
      state: {
        enum: ['waiting', 'updating', 'confirmed', 'unchanged', 'failed', 'aborted', 'skipped'],
        description: '`confirmed`: it runs the release and confirmed it healthy; `unchanged`: it held the release already; `skipped`: the rollout ended before its turn.',
      },
      phase: { ...nullable('string'), description: 'While updating: connecting, planned, uploading, committed (restarting) or on_trial.' },
      fromVersion: { ...nullable('string'), description: 'The version it ran when its update began.' },
      version: { ...nullable('string'), description: 'The version it runs, as last heard during the rollout.' },
      sentBytes: { type: 'integer', minimum: 0 },
      totalBytes: { type: 'integer', minimum: 0, description: 'What its update sends: only the files that differ from what the board holds.' },
      error: { oneOf: [{ type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } }, { type: 'null' }] },
      startedAt: nullable('integer'),
      endedAt: nullable('integer'),
    },
  },
  RolloutView: {
    type: 'object',
    required: [...SUMMARY_REQUIRED, 'boards'],
    properties: { ...ROLLOUT_SUMMARY_PROPERTIES, boards: { type: 'array', items: ref('RolloutBoardView') } },
  },
};

/** The stream's `rollout` update: one board's part changed. */
export const ROLLOUT_UPDATE_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['type', 'device', 'rollout', 'board'],
  properties: {
    type: { const: 'rollout' },
    device: { type: 'string' },
    rollout: { type: 'object', required: SUMMARY_REQUIRED, properties: ROLLOUT_SUMMARY_PROPERTIES },
    board: ref('RolloutBoardView'),
  },
};
