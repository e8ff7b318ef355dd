import type { TableContract } from '../contracts/types.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';
import { controlViews } from './control-schema.ts';
import { currentView, type ViewDefinition } from './ddl.ts';
import { readerViews } from './reports.ts';

/**
 * Every view the warehouse defines, kept equal to the code at each migrate: a view whose SQL
 * changed is dropped and created again, a missing one is created. Views hold no data, so
 * replacing one loses nothing; SQLite resolves a view's names when it is read, so a view may
 * name a table no load has created yet. Views in the database that the code does not define
 * (an analyst's own) are left alone. Pure.
 */

/**
 * The views, in dependency order: each table's `<t>_current`, the observability views, the
 * reader views (which read `<t>_current`), and etl_incident_decisions (migration 0002 made it
 * a view over etl_approvals; its SQL here is the one 0002 created, and evolves from here).
 */
export function warehouseViews(contracts: readonly TableContract[]): ViewDefinition[] {
  return [...contracts.map(currentView), ...controlViews(), ...readerViews(), incidentDecisionsView];
}

const incidentDecisionsView: ViewDefinition = {
  name: 'etl_incident_decisions',
  sql: `SELECT approval_id AS decision_id, target AS incident_id, coalesce(approver, '(unverified)') AS decided_by, mode, accepted, reason, decided_at,
  key_fingerprint, evidence_sha256, nonce
FROM etl_approvals WHERE action = 'approve-incident'`,
};

/**
 * A view's SELECT as compared: `sqlite_master.sql` (or our DDL) without its
 * `CREATE VIEW [IF NOT EXISTS] name AS` head, runs of whitespace made one space. Two
 * definitions that differ only in layout are the same view (a literal with two spaces in a
 * row would compare equal to one with one: no view of ours has one).
 */
export function normaliseViewSql(sql: string): string {
  return sql
    .replace(/^\s*CREATE\s+VIEW\s+(IF\s+NOT\s+EXISTS\s+)?("(?:[^"]|"")+"|[\w$]+)\s+AS\s+/i, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A view as the database holds it. */
export interface ExistingView {
  name: string;
  /** `sqlite_master.sql`. */
  sql: string;
}

/** What migrate does to the views: which it creates, which it replaces, and the statements, in order. */
export interface ViewPlan {
  created: string[];
  replaced: string[];
  statements: string[];
}

/**
 * The statements that bring the database's views to `defined`: the changed and missing ones
 * dropped if there (so a second process running the same plan succeeds too), dependents
 * first, then created, dependencies first (the
 * order of `defined`, checked by sorting on the names each view mentions). Pure.
 */
export function planViews(defined: readonly ViewDefinition[], existing: readonly ExistingView[]): ViewPlan {
  const held = new Map(existing.map((v) => [v.name, normaliseViewSql(v.sql)]));
  const ordered = dependencyOrder(defined);
  const replaced = ordered.filter((v) => held.has(v.name) && held.get(v.name) !== normaliseViewSql(v.sql));
  const created = ordered.filter((v) => !held.has(v.name));
  const rebuilt = new Set([...replaced, ...created].map((v) => v.name));
  return {
    created: created.map((v) => v.name),
    replaced: replaced.map((v) => v.name),
    statements: [
      ...ordered.filter((v) => rebuilt.has(v.name)).toReversed().map((v) => `DROP VIEW IF EXISTS ${q(v.name)}`),
      ...ordered.filter((v) => rebuilt.has(v.name)).map((v) => `CREATE VIEW ${q(v.name)} AS\n${v.sql}`),
    ],
  };
}

/** The views sorted so each comes after the views it mentions (stable: `defined` order otherwise). */
function dependencyOrder(defined: readonly ViewDefinition[]): ViewDefinition[] {
  const byName = new Map(defined.map((v) => [v.name, v]));
  const out: ViewDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (view: ViewDefinition, path: string[]) => {
    if (state.get(view.name) === 'done') return;
    if (state.get(view.name) === 'visiting') throw new Error(`views depend on each other in a cycle: ${[...path, view.name].join(' → ')}`);
    state.set(view.name, 'visiting');
    for (const other of byName.values()) if (other !== view && mentions(view.sql, other.name)) visit(other, [...path, view.name]);
    state.set(view.name, 'done');
    out.push(view);
  };
  for (const view of defined) visit(view, []);
  return out;
}

/** The SQL names `name` as a whole identifier (bare or quoted). */
function mentions(sql: string, name: string): boolean {
  return new RegExp(`(^|[^\\w$])"?${name.replace(/[$]/g, '\\$')}"?($|[^\\w$])`).test(sql);
}
