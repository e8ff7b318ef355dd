import { sqlLiteral } from '../d1/pack.ts';
import { contractBaseline } from './contract-baseline.ts';
import { controlSchemaDdl } from './control-schema.ts';
import type { ColumnType } from '../contracts/types.ts';
import { nightIncidentsMigration } from './incident-tables.ts';
import { typedControlMigration } from './typed-control.ts';
import { moneyUnitsMigrationName } from './money-units.ts';
import { rejectedRowsMigration } from './control/rejected-rows.ts';
import { keyIndexDigestMigration } from './control/loads.ts';

/**
 * The warehouse's schema as numbered migrations, applied in order and recorded in
 * `d1_migrations` (the table and naming convention of wrangler's `d1 migrations`). A
 * migration, once released, is never edited: a change is a new migration. Pure.
 */
export interface Migration {
  /** `NNNN_what_it_does`, as wrangler names its files; the order is the number's. */
  name: string;
  statements: string[];
  /** Checks run before the statements: a row they find refuses the migration, nothing written. */
  guards?: MigrationGuard[];
  /**
   * A migration whose work depends on the data (too large for one batch, or refusing some values):
   * run step by step by the activity of that name before `statements` (activities/schema.ts).
   */
  data?: 'money-units';
}

/** A check a migration needs to hold of the data before it runs (e.g. every status in its CHECK). */
export interface MigrationGuard {
  table: string;
  /** Answers the first offending row as `{ key, value }`, or no row. */
  sql: string;
  /** What every row must satisfy, for the refusal's message. */
  rule: string;
}

/** Wrangler's migrations table, so `wrangler d1 migrations list` reads the same history. */
export const migrationsTableDdl = `CREATE TABLE IF NOT EXISTS d1_migrations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`;

/**
 * 0002: signed approvals. Every decision that needs an approver (an incident's repair, a
 * manual rollback, a parity sign-off), accepted or refused, is one row of etl_approvals,
 * with the key's owner, the key, the evidence, the nonce and the signed statement itself.
 * A nonce is consumed by the first decision whose signature verified (the partial unique
 * index makes a replay impossible to record twice). etl_incident_decisions becomes a view
 * of the incident decisions, with the columns it had; its rows are kept.
 */
const signedApprovals: Migration = {
  name: '0002_signed_approvals',
  statements: [
    `CREATE TABLE etl_approvals (
  approval_id INTEGER PRIMARY KEY AUTOINCREMENT,
  decision_key TEXT NOT NULL UNIQUE,
  action TEXT NOT NULL CHECK (action IN ('approve-incident', 'manual-rollback', 'parity-signoff')),
  target TEXT NOT NULL,
  mode TEXT CHECK (mode IN ('rewind', 'time-travel')),
  accepted INTEGER NOT NULL CHECK (accepted IN (0, 1)),
  reason TEXT,
  approver TEXT,
  key_fingerprint TEXT,
  evidence_table TEXT,
  evidence_business_date TEXT,
  evidence_sha256 TEXT,
  nonce TEXT,
  nonce_consumed INTEGER NOT NULL DEFAULT 0 CHECK (nonce_consumed IN (0, 1)),
  statement TEXT,
  signature TEXT,
  decided_at TEXT NOT NULL,
  CHECK (accepted = 0 OR approver IS NOT NULL),
  CHECK (nonce_consumed = 0 OR nonce IS NOT NULL)
)`,
    'CREATE UNIQUE INDEX etl_approvals__nonce ON etl_approvals (nonce) WHERE nonce_consumed = 1',
    'CREATE INDEX etl_approvals__target ON etl_approvals (action, target)',
    // The decisions recorded before signatures, by the name the caller gave (no key: key_fingerprint stays NULL).
    `INSERT INTO etl_approvals (decision_key, action, target, mode, accepted, reason, approver, decided_at)
SELECT 'legacy-' || decision_id, 'approve-incident', incident_id,
  CASE WHEN mode IN ('rewind', 'time-travel') THEN mode END, accepted, reason, decided_by, decided_at
FROM etl_incident_decisions ORDER BY decision_id`,
    'DROP TABLE etl_incident_decisions',
    `CREATE VIEW etl_incident_decisions AS
SELECT approval_id AS decision_id, target AS incident_id, coalesce(approver, '(unverified)') AS decided_by, mode, accepted, reason, decided_at,
  key_fingerprint, evidence_sha256, nonce
FROM etl_approvals WHERE action = 'approve-incident'`,
    // A sign-off names the approval that allowed it.
    'ALTER TABLE etl_parity_signoffs ADD COLUMN approval_id INTEGER',
    'CREATE UNIQUE INDEX etl_parity_signoffs__approval ON etl_parity_signoffs (approval_id)',
  ],
};

/** The stored type of a column as released with 0003 (a decimal was a REAL then; 0006 made it INTEGER units). Frozen. */
function releasedSqlType(type: ColumnType): 'TEXT' | 'INTEGER' | 'REAL' {
  return type.kind === 'integer' ? 'INTEGER' : type.kind === 'decimal' ? 'REAL' : 'TEXT';
}

/**
 * 0003: the contract is recorded. etl_contract_columns holds, per table, the columns its
 * history table was built and migrated with (warehouse name, Sodiwin header, type, position,
 * addedIn); migrate compares the code's contract with it (history/contract-diff.ts). Filled
 * with the contract as released (history/contract-baseline.ts): every warehouse built before
 * this migration was built from it.
 */
const contractRecord: Migration = {
  name: '0003_contract_record',
  statements: [
    `CREATE TABLE etl_contract_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  position INTEGER NOT NULL CHECK (position >= 0),
  source_header TEXT NOT NULL,
  sql_type TEXT NOT NULL CHECK (sql_type IN ('TEXT', 'INTEGER', 'REAL')),
  type_json TEXT NOT NULL,
  added_in TEXT,
  PRIMARY KEY (table_name, column_name),
  UNIQUE (table_name, position)
)`,
    `INSERT INTO etl_contract_columns (table_name, column_name, position, source_header, sql_type, type_json, added_in) VALUES
${contractBaseline
  .map(([table, column, source, type]) => [table, column, contractBaseline.filter((c) => c[0] === table).findIndex((c) => c[1] === column), source, releasedSqlType(type), JSON.stringify(type), null])
  .map((row) => `(${row.map(sqlLiteral).join(', ')})`)
  .join(',\n')}`,
  ],
};

/** Every migration, in order. */
export const migrations: readonly Migration[] = [
  // 0001 adopts warehouses created before migrations existed: its DDL is `IF NOT EXISTS`.
  { name: '0001_control_schema', statements: controlSchemaDdl() },
  signedApprovals,
  contractRecord,
  nightIncidentsMigration,
  typedControlMigration,
  // 0006: amounts stored exactly, as INTEGER units (history/money-units.ts).
  { name: moneyUnitsMigrationName, statements: [], data: 'money-units' },
  // 0007: every rejected row of a load, up to a cap (history/control/rejected-rows.ts).
  rejectedRowsMigration,
  // 0008: the digest of each load's key index, checked before the next night trusts it (history/control/loads.ts).
  keyIndexDigestMigration,
];

/** The migrations not yet applied, or the names the database knows and this code does not. Pure. */
export function pendingMigrations(applied: readonly string[]): { pending: Migration[]; unknown: string[] } {
  const known = new Set(migrations.map((m) => m.name));
  return { pending: migrations.filter((m) => !applied.includes(m.name)), unknown: applied.filter((name) => !known.has(name)) };
}
