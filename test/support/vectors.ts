// Runs the shared protocol test vectors (test/vectors/*.json) against a board on a TCP port.
// The MicroPython firmware runs the same files with its own runner.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineClient } from './line-client.js';
import { mismatch } from './match.js';

export const VECTOR_DIR = join(import.meta.dirname, '..', '..', '..', 'test', 'vectors');

/** The vector board, and the byte vectors of the cryptography (a format of their own, not steps). */
const NOT_STEP_FILES = new Set(['board.json', 'crypto.json']);

export interface VectorStep {
  client?: string;
  send?: Record<string, unknown>;
  send_text?: string;
  send_hex?: string | string[];
  advance_ms?: number;
  disconnect?: string;
  expect?: unknown[];
}

export interface VectorCase {
  name: string;
  steps: VectorStep[];
}

export interface VectorFile {
  file: string;
  description: string;
  board: unknown;
  cases: VectorCase[];
}

export function loadVectorFiles(): VectorFile[] {
  const defaultBoard: unknown = JSON.parse(readFileSync(join(VECTOR_DIR, 'board.json'), 'utf8'));
  return readdirSync(VECTOR_DIR)
    .filter((f) => f.endsWith('.json') && !NOT_STEP_FILES.has(f))
    .sort()
    .map((file) => {
      const raw = JSON.parse(readFileSync(join(VECTOR_DIR, file), 'utf8')) as Omit<VectorFile, 'file'>;
      return { file, description: raw.description, board: raw.board ?? defaultBoard, cases: raw.cases };
    });
}

export interface VectorTarget {
  port: number;
  advance(ms: number): Promise<void>;
}

/** Runs one case; throws with the step number and the first difference. */
export async function runCase(target: VectorTarget, vcase: VectorCase): Promise<void> {
  const clients = new Map<string, LineClient>();
  const client = async (name: string) => {
    let c = clients.get(name);
    if (c === undefined) {
      c = await LineClient.connect(target.port);
      clients.set(name, c);
    }
    return c;
  };
  try {
    for (const [index, step] of vcase.steps.entries()) {
      const where = `${vcase.name}, step ${index + 1}`;
      const name = step.client ?? 'a';
      if (step.disconnect !== undefined) {
        clients.get(step.disconnect)?.close();
        clients.delete(step.disconnect);
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const c = await client(name);
      if (step.send !== undefined) await c.write(JSON.stringify(step.send) + '\n');
      if (step.send_text !== undefined) await c.write(step.send_text);
      if (step.send_hex !== undefined) {
        const parts = Array.isArray(step.send_hex) ? step.send_hex : [step.send_hex];
        for (const part of parts) {
          await c.write(Buffer.from(part.replace(/\s+/g, ''), 'hex'));
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      if (step.advance_ms !== undefined) await target.advance(step.advance_ms);
      for (const [k, expected] of (step.expect ?? []).entries()) {
        let actual: Record<string, unknown>;
        try {
          actual = await c.next();
        } catch (err) {
          throw new Error(`${where}: waiting for message ${k + 1}: ${(err as Error).message}`, { cause: err });
        }
        const diff = mismatch(expected, actual);
        if (diff) throw new Error(`${where}: message ${k + 1}: ${diff}`);
      }
    }
    // Nothing unexpected may be left: the next line on each connection must answer this ping.
    for (const [name, c] of clients) {
      const reply = await c.request({ action: 'ping', id: '__end__' });
      const diff = mismatch({ action: 'ping', id: '__end__', ok: true }, reply);
      if (diff) throw new Error(`${vcase.name}, after the last step, client ${name} got an unexpected message: ${JSON.stringify(reply)}`);
    }
  } finally {
    for (const c of clients.values()) c.close();
  }
}
