import { replayedLoadStatuses, writtenLoadStatuses, type LoadStatus } from '../../common/control-statuses.ts';
import { quoteIdentifier } from '../../d1/pack.ts';
import type { Migration } from '../migrations.ts';
import type { ControlStatement } from './statement.ts';
import { statusIn } from './statement.ts';

/**
 * etl_loads: one row per load attempt of a table's file, through the states of LoadStatus
 * (common/control-statuses.ts). Pure builders; the only place that writes or reads the table.
 */

/**
 * 0008: the sha256 of the key index validation wrote for a full snapshot's load (activities/key-index.ts).
 * The next night's validation diffs against that index only when its bytes have this digest, so an index
 * edited in `keys/` (its fingerprints are not checked against D1 otherwise) is never trusted. NULL: no
 * index (a delta table, a backfill) or one written before this migration; either is staged whole once.
 */
export const keyIndexDigestMigration: Migration = {
  name: '0008_key_index_digest',
  statements: ["ALTER TABLE etl_loads ADD COLUMN key_index_sha256 TEXT CHECK (key_index_sha256 IS NULL OR (length(key_index_sha256) = 64 AND key_index_sha256 NOT GLOB '*[^0-9a-f]*'))"],
};

/** A load about to be validated: the row created, or reset when the same file is loaded again. */
export function startValidatingStatement(load: { loadId: string; runId: string; table: string; businessDate: string; fileName: string; archivePath: string; sha256: string; bytes: number; now: string }): ControlStatement {
  return {
    sql: `INSERT INTO etl_loads (load_id, run_id, table_name, business_date, file_name, archive_path, sha256, bytes, status, started_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'validating', ?)
         ON CONFLICT (load_id) DO UPDATE SET run_id = excluded.run_id, status = 'validating', started_at = excluded.started_at,
           finished_at = NULL, error_type = NULL, error_detail = NULL`,
    params: [load.loadId, load.runId, load.table, load.businessDate, load.fileName, load.archivePath, load.sha256, load.bytes, load.now],
  };
}

/** What validation counted (the file's rows and control totals, JSON) and the digest of the key index it wrote, if any. */
export function recordValidationStatement(input: { loadId: string; rowsRead: number; rowsValid: number; rowsRejected: number; controlTotalsJson: string; keyIndexSha256?: string }): ControlStatement {
  return {
    sql: 'UPDATE etl_loads SET rows_read = ?, rows_valid = ?, rows_rejected = ?, control_totals_json = ?, key_index_sha256 = ? WHERE load_id = ?',
    params: [input.rowsRead, input.rowsValid, input.rowsRejected, input.controlTotalsJson, input.keyIndexSha256 ?? null, input.loadId],
  };
}

/**
 * The load's rows are in stage: `rows_staged` counted there by this statement, so it travels in the
 * batch that reads the stage (stage's duplicate check) and needs no request of its own.
 */
export function markStagedStatement(loadId: string, stageTable: string): ControlStatement {
  return {
    sql: `UPDATE etl_loads SET status = 'staged', rows_staged = (SELECT count(*) FROM ${quoteIdentifier(stageTable)} WHERE _load_id = ? AND _line > 0) WHERE load_id = ?`,
    params: [loadId, loadId],
  };
}

/** A step the load went through that records nothing else: publishing, published, deferred, quarantined, rewound. */
export function markStatusStatement(loadId: string, status: Extract<LoadStatus, 'publishing' | 'published' | 'deferred' | 'quarantined' | 'rewound'>): ControlStatement {
  return { sql: 'UPDATE etl_loads SET status = ? WHERE load_id = ?', params: [status, loadId] };
}

/**
 * The versions the load wrote, counted in its history table by this statement: it travels at the
 * end of the merge's batch (no request of its own). verify counts them again, against what the
 * merge reported.
 */
export function recordVersionsStatement(loadId: string, historyTable: string): ControlStatement {
  const t = quoteIdentifier(historyTable);
  return {
    sql: `UPDATE etl_loads SET versions_inserted = (SELECT count(*) FROM ${t} WHERE _loaded_by = ?),
           versions_closed = (SELECT count(*) FROM ${t} WHERE _closed_by = ?),
           tombstones = (SELECT count(*) FROM ${t} WHERE _loaded_by = ? AND _is_deleted = 1)
         WHERE load_id = ?`,
    params: [loadId, loadId, loadId, loadId],
  };
}

/** verify reconciled the load. */
export function markVerifiedStatement(loadId: string, now: string): ControlStatement {
  return { sql: "UPDATE etl_loads SET status = 'verified', finished_at = ? WHERE load_id = ?", params: [now, loadId] };
}

/** A load that failed: `failed` (nothing written) or `reverted` (undone by load id), with its error type and detail. */
export function recordFailureStatement(input: { loadId: string; runId: string; table: string; businessDate: string; fileName: string | null; sha256: string | null; status: Extract<LoadStatus, 'failed' | 'reverted'>; errorType: string; errorDetail: string; now: string }): ControlStatement {
  return {
    sql: `INSERT INTO etl_loads (load_id, run_id, table_name, business_date, file_name, sha256, status, error_type, error_detail, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (load_id) DO UPDATE SET run_id = excluded.run_id, status = excluded.status, error_type = excluded.error_type,
         error_detail = excluded.error_detail, finished_at = excluded.finished_at`,
    params: [input.loadId, input.runId, input.table, input.businessDate, input.fileName, input.sha256, input.status, input.errorType, input.errorDetail, input.now, input.now],
  };
}

/** The load's status (no row: never started). */
export function loadStatusQuery(loadId: string): ControlStatement {
  return { sql: 'SELECT status FROM etl_loads WHERE load_id = ?', params: [loadId] };
}

/** A verified load as fetch reads it: which run verified it, and what that run counted and wrote. */
export interface VerifiedLoadRecord {
  run_id: string;
  rows_read: number | null;
  rows_rejected: number | null;
  versions_inserted: number | null;
  versions_closed: number | null;
  tombstones: number | null;
}

/** The load if it is verified (no row otherwise). */
export function verifiedLoadQuery(loadId: string): ControlStatement {
  return {
    sql: "SELECT run_id, rows_read, rows_rejected, versions_inserted, versions_closed, tombstones FROM etl_loads WHERE load_id = ? AND status = 'verified'",
    params: [loadId],
  };
}

/** A load as the re-check, repair and rebuild read it. */
export interface LoadRef {
  table_name: string;
  business_date: string;
}

/** The verified loads of a date range, with the file each loaded (the late-correction check). */
export function verifiedBetweenQuery(fromDate: string, toDate: string): ControlStatement {
  return {
    sql: "SELECT table_name, business_date, file_name, sha256 FROM etl_loads WHERE status = 'verified' AND business_date BETWEEN ? AND ? ORDER BY business_date, table_name",
    params: [fromDate, toDate],
  };
}

/** A table's loads on or after a date whose versions are in history, newest first (what a rewind reverts). */
export function writtenSinceQuery(table: string, fromDate: string): ControlStatement {
  return {
    sql: `SELECT load_id, business_date FROM etl_loads WHERE table_name = ? AND business_date >= ? AND status ${statusIn(writtenLoadStatuses)} ORDER BY business_date DESC`,
    params: [table, fromDate],
  };
}

/** The days loaded, held back or rejected on or after a business date, all tables (what a whole-warehouse restore replays). */
export function replayedFromDateQuery(fromDate: string): ControlStatement {
  return {
    sql: `SELECT DISTINCT table_name, business_date FROM etl_loads WHERE business_date >= ? AND status ${statusIn(replayedLoadStatuses)} ORDER BY business_date, table_name`,
    params: [fromDate],
  };
}

/** The same, for loads started at or after an instant (a manual rollback to a time). */
export function replayedStartedSinceQuery(instant: string): ControlStatement {
  return {
    sql: `SELECT DISTINCT table_name, business_date FROM etl_loads WHERE started_at >= ? AND status ${statusIn(replayedLoadStatuses)} ORDER BY business_date, table_name`,
    params: [instant],
  };
}

/** The verified nightly loads (not the backfill's), in date order, with their archived file: what a rebuild replays. */
export function verifiedArchivedQuery(table?: string): ControlStatement {
  return {
    sql: `SELECT table_name, business_date, file_name, archive_path FROM etl_loads WHERE status = 'verified' AND load_id NOT LIKE 'backfill\\_%' ESCAPE '\\' ${table ? 'AND table_name = ?' : ''} ORDER BY business_date, table_name`,
    params: table ? [table] : [],
  };
}

/** The first business date a table holds a verified load of (a nightly load or the backfill's as-of date). */
export function firstVerifiedDateQuery(table: string): ControlStatement {
  return { sql: "SELECT min(business_date) AS business_date FROM etl_loads WHERE table_name = ? AND status = 'verified'", params: [table] };
}

/** How many verified nightly loads (not the backfill's) the warehouse holds: a rebuild's progress in its scratch warehouse. */
export function verifiedNightlyCountQuery(): ControlStatement {
  return { sql: "SELECT count(*) AS n FROM etl_loads WHERE status = 'verified' AND load_id NOT LIKE 'backfill\\_%' ESCAPE '\\'", params: [] };
}

/** The archived dump of the latest verified backfill, if any. */
export function backfillArchiveQuery(): ControlStatement {
  return { sql: "SELECT DISTINCT archive_path FROM etl_loads WHERE status = 'verified' AND load_id LIKE 'backfill\\_%' ESCAPE '\\' ORDER BY business_date DESC LIMIT 1", params: [] };
}

/** A backfill's load of one table begins (or begins again): `importing`. */
export function startImportStatement(input: { loadId: string; runId: string; table: string; asOf: string; fileNames: string; dumpDir: string; rowsRead: number; now: string }): ControlStatement {
  return {
    sql: `INSERT INTO etl_loads (load_id, run_id, table_name, business_date, file_name, archive_path, status, rows_read, started_at)
                  VALUES (?, ?, ?, ?, ?, ?, 'importing', ?, ?)
                  ON CONFLICT (load_id) DO UPDATE SET run_id = excluded.run_id, status = 'importing', finished_at = NULL, error_type = NULL, error_detail = NULL`,
    params: [input.loadId, input.runId, input.table, input.asOf, input.fileNames, input.dumpDir, input.rowsRead, input.now],
  };
}

/** A backfill's load reconciled: verified, every row a version, its archive and control totals. */
export function markImportVerifiedStatement(input: { loadId: string; rows: number; controlTotalsJson: string; archiveDir: string; now: string }): ControlStatement {
  return {
    sql: `UPDATE etl_loads SET status = 'verified', rows_read = ?, rows_valid = ?, rows_rejected = 0, rows_staged = ?, versions_inserted = ?, versions_closed = 0, tombstones = 0,
                    control_totals_json = ?, archive_path = ?, finished_at = ? WHERE load_id = ?`,
    params: [input.rows, input.rows, input.rows, input.rows, input.controlTotalsJson, input.archiveDir, input.now, input.loadId],
  };
}

/** A load that ended in failure after it started (a backfill undone): its status, error type and detail. */
export function markFailedStatement(input: { loadId: string; status: Extract<LoadStatus, 'failed' | 'reverted'>; errorType: string; errorDetail: string; now: string }): ControlStatement {
  return { sql: 'UPDATE etl_loads SET status = ?, error_type = ?, error_detail = ?, finished_at = ? WHERE load_id = ?', params: [input.status, input.errorType, input.errorDetail, input.now, input.loadId] };
}

/** A load as `warehouse status` shows it, with the table's watermark. */
export interface LoadStatusRow {
  table_name: string;
  business_date: string;
  status: string;
  rows_read: number | null;
  rows_rejected: number | null;
  versions_inserted: number | null;
  versions_closed: number | null;
  error_type: string | null;
  error_detail: string | null;
  finished_at: string | null;
  watermark: string | null;
}

/** The latest load per table (by business date, then by finish time), or that date's, with the table's watermark. */
export function latestLoadPerTableQuery(businessDate: string | null): ControlStatement {
  return {
    sql: `WITH ranked AS (
           SELECT l.*, row_number() OVER (PARTITION BY table_name ORDER BY business_date DESC, coalesce(finished_at, started_at) DESC) AS rn
           FROM etl_loads l WHERE (?1 IS NULL OR business_date = ?1))
         SELECT r.table_name, r.business_date, r.status, r.rows_read, r.rows_rejected, r.versions_inserted, r.versions_closed,
                r.error_type, r.error_detail, r.finished_at, w.business_date AS watermark
         FROM ranked r LEFT JOIN etl_watermarks w ON w.table_name = r.table_name WHERE r.rn = 1`,
    params: [businessDate],
  };
}
