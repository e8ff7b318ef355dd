import { incidentStatuses, loadStatuses, runStatuses } from '../common/control-statuses.ts';
import { sqlLiteral } from '../d1/pack.ts';
import { controlViews } from './control-schema.ts';
import type { Migration, MigrationGuard } from './migrations.ts';

/**
 * 0005: typed control rows. etl_runs, etl_loads and etl_incidents get `CHECK (status IN (…))`
 * built from the unions of common/control-statuses.ts. SQLite cannot add a CHECK to a table,
 * so each is rebuilt (create `<t>_0005`, copy, drop, rename, recreate its indexes), as 0004
 * rebuilt etl_deferred_loads. The views that read them are dropped first (a rename checks every
 * view of the schema) and created again with the code's SQL. A row whose status is outside
 * the union refuses the migration before anything is written (its guards): it is never mapped
 * to another status silently. Pure.
 */

/** `CHECK (status IN ('a', 'b', …))` for a list of statuses. */
export function statusCheck(statuses: readonly string[]): string {
  return `CHECK (status IN (${statuses.map(sqlLiteral).join(', ')}))`;
}

/** One control table as 0005 rebuilds it: its columns after 0001–0004, its status union, key and indexes. */
interface RebuiltTable {
  table: string;
  key: string;
  statuses: readonly string[];
  columns: string;
  indexes: string[];
}

const rebuilt: RebuiltTable[] = [
  {
    table: 'etl_runs',
    key: 'run_id',
    statuses: runStatuses,
    columns: `run_id TEXT PRIMARY KEY,
  business_date TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL ${statusCheck(runStatuses)},
  bookmark TEXT,
  tables_total INTEGER NOT NULL DEFAULT 0,
  tables_ok INTEGER,
  tables_failed INTEGER,
  summary_json TEXT`,
    indexes: ['CREATE INDEX etl_runs__business_date ON etl_runs (business_date)'],
  },
  {
    table: 'etl_loads',
    key: 'load_id',
    statuses: loadStatuses,
    columns: `load_id TEXT PRIMARY KEY,
  run_id TEXT,
  table_name TEXT NOT NULL,
  business_date TEXT NOT NULL,
  file_name TEXT,
  archive_path TEXT,
  sha256 TEXT,
  bytes INTEGER,
  status TEXT NOT NULL ${statusCheck(loadStatuses)},
  rows_read INTEGER,
  rows_valid INTEGER,
  rows_rejected INTEGER,
  rows_staged INTEGER,
  versions_inserted INTEGER,
  versions_closed INTEGER,
  tombstones INTEGER,
  control_totals_json TEXT,
  error_type TEXT,
  error_detail TEXT,
  started_at TEXT,
  finished_at TEXT`,
    indexes: ['CREATE INDEX etl_loads__table_date ON etl_loads (table_name, business_date)'],
  },
  {
    table: 'etl_incidents',
    key: 'incident_id',
    statuses: incidentStatuses,
    columns: `incident_id TEXT PRIMARY KEY,
  table_name TEXT NOT NULL,
  business_date TEXT NOT NULL,
  status TEXT NOT NULL ${statusCheck(incidentStatuses)},
  error_type TEXT,
  error_detail TEXT,
  workflow_id TEXT,
  opened_at TEXT NOT NULL,
  closed_at TEXT,
  quarantine_dir TEXT,
  alert_via TEXT,
  alert_sent_at TEXT,
  approved_by TEXT,
  rollback_mode TEXT,
  tables_json TEXT CHECK (tables_json IS NULL OR json_valid(tables_json))`,
    indexes: [],
  },
];

/** The column names of a rebuilt table, in order (copied by name, so the copy cannot shift a column). */
function columnNames(t: RebuiltTable): string[] {
  return t.columns.split(',\n').map((line) => line.trim().split(/\s+/)[0]!);
}

/** The control views that read a rebuilt table, in the order they are created. */
function dependentViews() {
  return controlViews().filter((v) => rebuilt.some((t) => new RegExp(`\\b${t.table}\\b`).test(v.sql)));
}

/** The CHECK lists 0005 writes, by table: what a unit test compares with the unions. */
export const typedControlChecks: Record<string, readonly string[]> = Object.fromEntries(rebuilt.map((t) => [t.table, t.statuses]));

/** Per rebuilt table: the first row whose status the union does not hold (refuses the migration). */
const guards: MigrationGuard[] = rebuilt.map((t) => ({
  table: t.table,
  sql: `SELECT ${t.key} AS key, status AS value FROM ${t.table} WHERE status IS NULL OR status NOT IN (${t.statuses.map(sqlLiteral).join(', ')}) ORDER BY ${t.key} LIMIT 1`,
  rule: `status is one of ${t.statuses.join(', ')}`,
}));

/** Migration 0005_typed_control. */
export const typedControlMigration: Migration = {
  name: '0005_typed_control',
  guards,
  statements: [
    ...dependentViews().toReversed().map((v) => `DROP VIEW IF EXISTS ${v.name}`),
    ...rebuilt.flatMap((t) => {
      const names = columnNames(t).join(', ');
      return [
        `CREATE TABLE ${t.table}_0005 (\n  ${t.columns}\n)`,
        `INSERT INTO ${t.table}_0005 (${names}) SELECT ${names} FROM ${t.table}`,
        `DROP TABLE ${t.table}`,
        `ALTER TABLE ${t.table}_0005 RENAME TO ${t.table}`,
        ...t.indexes,
      ];
    }),
    ...dependentViews().map((v) => `CREATE VIEW ${v.name} AS\n${v.sql}`),
  ],
};
