export * from './actions.js';
export * from './codec.js';
export * from './errors.js';
export * from './events.js';
export * from './framing.js';
export * from './request.js';
export * from './version.js';
