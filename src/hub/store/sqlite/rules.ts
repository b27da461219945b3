// Rules and bindings made through the API, kept across restarts. Each is its definition as the
// API accepted it (the JSON of a hub config rules[] or bindings[] entry), checked again when the
// hub loads it; the rules module (modules/rules-module.ts) is the only writer.
import type Database from 'better-sqlite3';
import type { JsonObject } from '../../../protocol/codec.js';
import { ruleExists } from '../checks.js';
import type { RuleDefinition, StoredRule } from '../port.js';

interface RuleRow {
  name: string;
  definition: string;
  enabled: number;
  created_at: number;
  updated_at: number;
  updated_by: string;
}

type RowParams = { name: string; definition: string; enabled: number; at: number; by: string };

function statements(db: Database.Database) {
  return {
    all: db.prepare<[], RuleRow>('SELECT name, definition, enabled, created_at, updated_at, updated_by FROM rules ORDER BY rowid'),
    insert: db.prepare<RowParams>('INSERT INTO rules (name, definition, enabled, created_at, updated_at, updated_by) VALUES (@name, @definition, @enabled, @at, @at, @by)'),
    // Keeps the rowid, so a renamed rule keeps its place in the list.
    update: db.prepare<RowParams & { old: string }>('UPDATE rules SET name = @name, definition = @definition, enabled = @enabled, updated_at = @at, updated_by = @by WHERE name = @old'),
    remove: db.prepare<[string]>('DELETE FROM rules WHERE name = ?'),
    exists: db.prepare<[string], { name: string }>('SELECT name FROM rules WHERE name = ?'),
  };
}

export class RuleStore {
  private readonly sql: ReturnType<typeof statements>;

  constructor(db: Database.Database) {
    this.sql = statements(db);
  }

  /** In the order they were made. */
  list(): StoredRule[] {
    return this.sql.all.all().map((r) => ({
      name: r.name,
      definition: JSON.parse(r.definition) as JsonObject,
      enabled: r.enabled === 1,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      updatedBy: r.updated_by,
    }));
  }

  add(rule: RuleDefinition, at: number, by: string): void {
    if (this.sql.exists.get(rule.name) !== undefined) throw ruleExists(rule.name);
    this.sql.insert.run({ name: rule.name, definition: JSON.stringify(rule.definition), enabled: rule.enabled ? 1 : 0, at, by });
  }

  /** Replaces the rule named `old` (the new one may have another name); false when there is none. */
  replace(old: string, rule: RuleDefinition, at: number, by: string): boolean {
    if (rule.name !== old && this.sql.exists.get(rule.name) !== undefined) throw ruleExists(rule.name);
    return this.sql.update.run({ old, name: rule.name, definition: JSON.stringify(rule.definition), enabled: rule.enabled ? 1 : 0, at, by }).changes > 0;
  }

  /** False when no rule has that name. */
  remove(name: string): boolean {
    return this.sql.remove.run(name).changes > 0;
  }
}
