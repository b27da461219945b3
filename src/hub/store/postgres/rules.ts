// Rules and bindings made through the API, kept in PostgreSQL (the SQLite side: ../rules.ts).
import type { JsonObject } from '../../../protocol/codec.js';
import { ruleExists } from '../checks.js';
import type { RuleDefinition, StoredRule } from '../port.js';
import { SQLSTATE, sqlState, type Queryable } from './db.js';
import { changed } from './devices.js';

interface RuleRow {
  name: string;
  definition: string;
  enabled: boolean;
  created_at: number;
  updated_at: number;
  updated_by: string;
}

export class RuleStore {
  /** In the order they were made (a renamed rule keeps its place). */
  async list(db: Queryable): Promise<StoredRule[]> {
    const { rows } = await db.query<RuleRow>('SELECT name, definition, enabled, created_at, updated_at, updated_by FROM rules ORDER BY pos');
    return rows.map((r) => ({
      name: r.name,
      definition: JSON.parse(r.definition) as JsonObject,
      enabled: r.enabled,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      updatedBy: r.updated_by,
    }));
  }

  async add(db: Queryable, rule: RuleDefinition, at: number, by: string): Promise<void> {
    await named(rule.name, db.query('INSERT INTO rules (name, definition, enabled, created_at, updated_at, updated_by) VALUES ($1, $2, $3, $4, $4, $5)', [
      rule.name,
      JSON.stringify(rule.definition),
      rule.enabled,
      at,
      by,
    ]));
  }

  async replace(db: Queryable, old: string, rule: RuleDefinition, at: number, by: string): Promise<boolean> {
    const result = await named(
      rule.name,
      db.query('UPDATE rules SET name = $2, definition = $3, enabled = $4, updated_at = $5, updated_by = $6 WHERE name = $1', [
        old,
        rule.name,
        JSON.stringify(rule.definition),
        rule.enabled,
        at,
        by,
      ]),
    );
    return changed(result);
  }

  async remove(db: Queryable, name: string): Promise<boolean> {
    return changed(await db.query('DELETE FROM rules WHERE name = $1', [name]));
  }
}

/** A write that names a rule: another rule of that name is a conflict. */
async function named<T>(name: string, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if (sqlState(err) === SQLSTATE.uniqueViolation) throw ruleExists(name);
    throw err;
  }
}
