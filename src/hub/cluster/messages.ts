// What hubs of a cluster say to each other through the broker (docs/scaling.md, "Between hubs"),
// and the topics they say it on. Every payload is JSON; one that does not parse is dropped and
// logged, never acted on.
import { z } from 'zod';
import type { JsonObject } from '../../protocol/codec.js';

/** A change of shared data that the other hubs must see: they read it again from the store. */
export type SharedChange =
  | { kind: 'board'; device: string; what: 'registered' | 'rotated' | 'removed' | 'linked' | 'offline' }
  | { kind: 'rules' }
  /** Read the whole registry again: a hub started, and marked the boards it held offline. */
  | { kind: 'registry' };

const jsonObject = z.record(z.string(), z.unknown()).transform((o) => o as JsonObject);
const hubId = z.string().min(1).max(64);

export const commandRequest = z.strictObject({
  /** Unique per request: the hub holding the board answers a repeat (QoS 1 may deliver twice) without sending it again. */
  id: z.string().min(1).max(128),
  from: hubId,
  device: z.string().min(1).max(64),
  request: jsonObject,
  timeoutMs: z.number().int().positive().max(600_000),
  deliverWithinMs: z.number().int().positive().max(600_000).optional(),
});
export type CommandRequest = z.output<typeof commandRequest>;

export const commandAnswer = z.union([
  z.strictObject({ id: z.string(), reply: jsonObject }),
  z.strictObject({ id: z.string(), error: z.strictObject({ code: z.string(), message: z.string() }) }),
]);
export type CommandAnswer = z.output<typeof commandAnswer>;

export const sharedChange = z.intersection(
  z.object({ from: hubId }),
  z.union([
    z.object({ kind: z.literal('board'), device: z.string().min(1).max(64), what: z.enum(['registered', 'rotated', 'removed', 'linked', 'offline']) }),
    z.object({ kind: z.literal('rules') }),
    z.object({ kind: z.literal('registry') }),
  ]),
);

export class ClusterTopics {
  constructor(private readonly root: string) {}

  /** Where a hub takes commands for the boards it holds. */
  commands(hub: string): string {
    return `${this.root}/hub/${hub}/command`;
  }

  /** Where a hub hears the answers to the commands it passed on. */
  answers(hub: string): string {
    return `${this.root}/hub/${hub}/answer`;
  }

  /** Retained: online while the hub is connected, offline (its will) once it is not. */
  presence(hub: string): string {
    return `${this.root}/hub/${hub}/state`;
  }

  /** Every hub's presence, to subscribe to. */
  everyPresence(): string {
    return `${this.root}/hub/+/state`;
  }

  changes(): string {
    return `${this.root}/changes`;
  }

  /** The hub id in a presence topic, or undefined for another topic. */
  hubOfPresence(topic: string): string | undefined {
    const prefix = `${this.root}/hub/`;
    if (!topic.startsWith(prefix) || !topic.endsWith('/state')) return undefined;
    const id = topic.slice(prefix.length, -'/state'.length);
    return id.includes('/') ? undefined : id;
  }
}
