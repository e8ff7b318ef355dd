import { tableContracts } from '../contracts/index.ts';
import type { ViewDefinition } from './ddl.ts';
import { readerViewsDdl } from './reports.ts';

/**
 * The control schema of DESIGN §6: what every run and load writes about itself, and the
 * operator views over it. Idempotent DDL: migration 0001, which adopts warehouses created
 * before migrations existed. Pure.
 */
export function controlSchemaDdl(): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS etl_runs (
  run_id TEXT PRIMARY KEY,
  business_date TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL,
  bookmark TEXT,
  tables_total INTEGER NOT NULL DEFAULT 0,
  tables_ok INTEGER,
  tables_failed INTEGER,
  summary_json TEXT
)`,
    'CREATE INDEX IF NOT EXISTS etl_runs__business_date ON etl_runs (business_date)',
    `CREATE TABLE IF NOT EXISTS etl_loads (
  load_id TEXT PRIMARY KEY,
  run_id TEXT,
  table_name TEXT NOT NULL,
  business_date TEXT NOT NULL,
  file_name TEXT,
  archive_path TEXT,
  sha256 TEXT,
  bytes INTEGER,
  status TEXT NOT NULL,
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
  finished_at TEXT
)`,
    'CREATE INDEX IF NOT EXISTS etl_loads__table_date ON etl_loads (table_name, business_date)',
    `CREATE TABLE IF NOT EXISTS etl_watermarks (
  table_name TEXT PRIMARY KEY,
  business_date TEXT NOT NULL,
  load_id TEXT NOT NULL,
  updated_at TEXT NOT NULL
)`,
    `CREATE TABLE IF NOT EXISTS etl_incidents (
  incident_id TEXT PRIMARY KEY,
  table_name TEXT NOT NULL,
  business_date TEXT NOT NULL,
  status TEXT NOT NULL,
  error_type TEXT,
  error_detail TEXT,
  workflow_id TEXT,
  opened_at TEXT NOT NULL,
  closed_at TEXT,
  quarantine_dir TEXT,
  alert_via TEXT,
  alert_sent_at TEXT,
  approved_by TEXT,
  rollback_mode TEXT
)`,
    // Every approveRollback signal: accepted or refused, by whom, when and why.
    `CREATE TABLE IF NOT EXISTS etl_incident_decisions (
  decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
  incident_id TEXT NOT NULL,
  decided_by TEXT NOT NULL,
  mode TEXT NOT NULL,
  accepted INTEGER NOT NULL,
  reason TEXT,
  decided_at TEXT NOT NULL
)`,
    // Later days a table's open incident held back: archived and validated, not loaded.
    `CREATE TABLE IF NOT EXISTS etl_deferred_loads (
  incident_id TEXT NOT NULL,
  table_name TEXT NOT NULL,
  business_date TEXT NOT NULL,
  load_id TEXT NOT NULL,
  archive_path TEXT NOT NULL,
  deferred_at TEXT NOT NULL,
  PRIMARY KEY (incident_id, business_date)
)`,
    `CREATE TABLE IF NOT EXISTS etl_bookmarks (
  run_id TEXT PRIMARY KEY,
  business_date TEXT NOT NULL,
  bookmark TEXT NOT NULL,
  taken_at TEXT NOT NULL
)`,
    // The historical backfill's import files that landed: each import inserts its own marker, so a resumed backfill skips it.
    `CREATE TABLE IF NOT EXISTS etl_backfill_chunks (
  load_id TEXT NOT NULL,
  file TEXT NOT NULL,
  chunk INTEGER NOT NULL,
  first_line INTEGER NOT NULL,
  last_line INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  imported_at TEXT NOT NULL,
  PRIMARY KEY (load_id, file, chunk)
)`,
    // Paul's sign-offs of the parity gate: a Sodiwin screen compared key by key with a named query on D1.
    `CREATE TABLE IF NOT EXISTS etl_parity_signoffs (
  signoff_id INTEGER PRIMARY KEY AUTOINCREMENT,
  table_name TEXT NOT NULL,
  query_name TEXT NOT NULL,
  signed_by TEXT NOT NULL,
  signed_at TEXT NOT NULL,
  result TEXT NOT NULL,
  differences INTEGER NOT NULL,
  rows_compared INTEGER NOT NULL,
  sodiwin_file TEXT NOT NULL,
  sodiwin_sha256 TEXT NOT NULL,
  loaded_through TEXT
)`,
    // The observability views and the reader views of DESIGN §9 (history/reports.ts); migrate keeps them current (history/views.ts).
    ...controlViews().map((v) => `CREATE VIEW IF NOT EXISTS ${v.name} AS\n${v.sql}`),
    ...readerViewsDdl(),
  ];
}

/** The operator's views over the control tables (DESIGN §6), in dependency order. Pure. */
export function controlViews(): ViewDefinition[] {
  return [
    // Which tables D1 is authoritative for: signed off at least once through the parity gate.
    { name: 'v_table_authority', sql: `WITH tables(table_name) AS (VALUES ${tableContracts.map((c) => `('${c.table}')`).join(', ')})
SELECT t.table_name,
  CASE WHEN s.signoff_id IS NULL THEN 0 ELSE 1 END AS signed_off,
  s.query_name, s.signed_by, s.signed_at, s.loaded_through
FROM tables t
LEFT JOIN etl_parity_signoffs s ON s.signoff_id = (SELECT max(signoff_id) FROM etl_parity_signoffs x WHERE x.table_name = t.table_name AND x.result = 'match')` },
    // The last business date loaded per table, and how the table's latest load ended.
    { name: 'v_table_freshness', sql: `SELECT w.table_name, w.business_date AS loaded_through, w.updated_at,
  (SELECT l.status FROM etl_loads l WHERE l.table_name = w.table_name ORDER BY l.started_at DESC LIMIT 1) AS last_status,
  (SELECT l.business_date FROM etl_loads l WHERE l.table_name = w.table_name ORDER BY l.started_at DESC LIMIT 1) AS last_attempted_date
FROM etl_watermarks w` },
    // Loads that did not end verified, newest first.
    { name: 'v_recent_failures', sql: `SELECT load_id, table_name, business_date, file_name, status, error_type, error_detail, started_at, finished_at
FROM etl_loads WHERE status IN ('failed', 'reverted', 'quarantined') ORDER BY started_at DESC` },
    // How many days each table's watermark trails the newest business date any run attempted.
    { name: 'v_watermark_lag', sql: `SELECT w.table_name, w.business_date AS loaded_through,
  (SELECT max(business_date) FROM etl_runs) AS latest_run_date,
  CAST(julianday((SELECT max(business_date) FROM etl_runs)) - julianday(w.business_date) AS INTEGER) AS lag_days
FROM etl_watermarks w` },
  ];
}
