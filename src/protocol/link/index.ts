export * from './messages.js';
export * from './reliable.js';
export * from './seq.js';
export * from './backoff.js';
export * from './link-auth.js';
