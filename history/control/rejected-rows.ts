import { failedLoadStatuses } from '../../common/control-statuses.ts';
import { packBatches, packInserts, quoteIdentifier } from '../../d1/pack.ts';
import type { Migration } from '../migrations.ts';
import type { ControlStatement } from './statement.ts';
import { statusIn } from './statement.ts';

/**
 * etl_rejected_rows: every rejected row of a load, up to the cap in force (etl_loads.rejected_rows_cap),
 * one row per problem found on a line (`issue` is its ordinal on that line), the raw line kept once,
 * on the line's first issue. etl_loads.rows_rejected stays the exact count of rejected lines, so what
 * lies beyond the cap is stated, not lost. Pure builders and migration 0007; activities/control-store.ts
 * runs them.
 */

/**
 * 0007: the rejected rows of a load, all of them up to a cap, so a file with thousands of bad lines can
 * be sent back to Sodiwin line by line (`warehouse rejects`). The cap a load was validated under is on
 * its etl_loads row (NULL: validated before this migration, nothing recorded).
 */
export const rejectedRowsMigration: Migration = {
  name: '0007_rejected_rows',
  statements: [
    `CREATE TABLE etl_rejected_rows (
  load_id TEXT NOT NULL,
  line INTEGER NOT NULL CHECK (line >= 1),
  issue INTEGER NOT NULL CHECK (issue >= 1),
  column_name TEXT,
  value TEXT,
  rule TEXT NOT NULL,
  message TEXT NOT NULL,
  raw_line TEXT,
  PRIMARY KEY (load_id, line, issue),
  CHECK (issue = 1 OR raw_line IS NULL)
)`,
    'ALTER TABLE etl_loads ADD COLUMN rejected_rows_cap INTEGER CHECK (rejected_rows_cap IS NULL OR rejected_rows_cap >= 0)',
  ],
};

/** One stored problem of one rejected line. */
export interface RejectedRow {
  line: number;
  /** 1 for the line's first problem, 2 for its second… */
  issue: number;
  /** The Sodiwin column, when the problem is one field's. */
  column: string | null;
  /** The field's value, control characters escaped and cut (common/readable-text.ts). */
  value: string | null;
  /** The rule the line broke, e.g. `decimal comma expected, found a point`. */
  rule: string;
  /** The problem in one sentence, for someone who has only this row. */
  message: string;
  /** The line as it was in the file (escaped and cut), on the first issue of the line only. */
  rawLine: string | null;
}

/** A stored row as D1 answers it. */
export interface RejectedRowRecord {
  line: number;
  issue: number;
  column_name: string | null;
  value: string | null;
  rule: string;
  message: string;
  raw_line: string | null;
}

const columns = ['load_id', 'line', 'issue', 'column_name', 'value', 'rule', 'message', 'raw_line'] as const;

/** A load's stored rejected rows removed (before a validation writes them again: a retry stores each once). */
export function deleteRejectedRowsStatement(loadId: string): ControlStatement {
  return { sql: 'DELETE FROM etl_rejected_rows WHERE load_id = ?', params: [loadId] };
}

/**
 * Rejected rows as literal multi-row INSERTs packed to D1's statement limits and grouped into requests
 * (d1/pack.ts); `ON CONFLICT DO NOTHING`, so a request resent after its answer was lost adds nothing.
 * `then` (e.g. the count) travels after them, in the last request when it fits.
 */
export function insertRejectedRowsBatches(loadId: string, rows: readonly RejectedRow[], then: readonly ControlStatement[] = []): ControlStatement[][] {
  const statements = packInserts({
    table: 'etl_rejected_rows',
    columns,
    rows: rows.map((r) => [loadId, r.line, r.issue, r.column, r.value, r.rule, r.message, r.rawLine]),
    mode: 'literal',
    onConflictDoNothing: ['load_id', 'line', 'issue'],
  });
  return packBatches([...statements, ...then]).map((batch) => batch.map((s) => ({ sql: s.sql, params: [...(s.params ?? [])] })));
}

/** The exact count of the load's rejected lines and the cap its rows were stored under. */
export function recordRejectedCountStatement(input: { loadId: string; rowsRejected: number; cap: number }): ControlStatement {
  return { sql: 'UPDATE etl_loads SET rows_rejected = ?, rejected_rows_cap = ? WHERE load_id = ?', params: [input.rowsRejected, input.cap, input.loadId] };
}

/** The stored rows of a load after (line, issue), in file order, at most `limit`: one page of a keyset scan. */
export function rejectedRowsPageQuery(input: { loadId: string; after: { line: number; issue: number }; limit: number }): ControlStatement {
  return {
    sql: `SELECT line, issue, column_name, value, rule, message, raw_line FROM etl_rejected_rows
         WHERE load_id = ? AND (line, issue) > (?, ?) ORDER BY line, issue LIMIT ?`,
    params: [input.loadId, input.after.line, input.after.issue, Math.trunc(input.limit)],
  };
}

/** An incident with the load its rejected rows belong to, as `warehouse rejects` reads it. */
export interface IncidentLoadRow {
  incident_id: string;
  table_name: string;
  business_date: string;
  error_type: string | null;
  load_id: string | null;
  file_name: string | null;
  rows_rejected: number | null;
  rejected_rows_cap: number | null;
  /** Lines with rows in etl_rejected_rows. */
  lines_stored: number;
}

/**
 * An incident and its table's failed load of that date: the latest with rejected rows, else the
 * latest (a failure before validation counted anything). No row: no such incident.
 */
export function incidentLoadQuery(incidentId: string): ControlStatement {
  return {
    sql: `SELECT i.incident_id, i.table_name, i.business_date, i.error_type, l.load_id, l.file_name, l.rows_rejected, l.rejected_rows_cap,
           (SELECT count(DISTINCT r.line) FROM etl_rejected_rows r WHERE r.load_id = l.load_id) AS lines_stored
         FROM etl_incidents i
         LEFT JOIN etl_loads l ON l.load_id = (
           SELECT x.load_id FROM etl_loads x
           WHERE x.table_name = i.table_name AND x.business_date = i.business_date AND x.status ${statusIn(failedLoadStatuses)}
           ORDER BY coalesce(x.rows_rejected, 0) > 0 DESC, coalesce(x.finished_at, x.started_at) DESC LIMIT 1)
         WHERE i.incident_id = ?`,
    params: [incidentId],
  };
}

/**
 * The duplicate-key lines of a staged load as rejected rows, and the load's count of rejected lines
 * made exact again (the lines validation rejected plus these), in one request. A line is a duplicate
 * when an earlier line of the file has its key; the rows go after those validation stored, within the
 * cap; there is no raw line (the staged row is typed, not the file's text). Idempotent: a resent
 * request inserts nothing twice and sets the same count.
 */
export function duplicateKeyRowsStatements(input: { loadId: string; stageTable: string; key: readonly string[]; keySources: readonly string[]; cap: number }): ControlStatement[] {
  const keyList = input.key.map(quoteIdentifier).join(', ');
  const keyText = input.key.map(quoteIdentifier).join(" || ', ' || ");
  const stage = quoteIdentifier(input.stageTable);
  const duplicates = `SELECT _line, ${keyText} AS key_text, min(_line) OVER (PARTITION BY ${keyList}) AS first_line FROM ${stage} WHERE _load_id = ?1`;
  const column = input.keySources.join(', ');
  return [
    {
      sql: `INSERT INTO etl_rejected_rows (load_id, line, issue, column_name, value, rule, message, raw_line)
         SELECT ?1, _line, 1, ?2, key_text, 'key must be unique in the file', 'line ' || _line || ', column ' || ?2 || ': key ' || key_text || ' is already on line ' || first_line, NULL
         FROM (${duplicates}) WHERE _line > first_line ORDER BY _line
         LIMIT max(0, ?3 - (SELECT count(DISTINCT line) FROM etl_rejected_rows WHERE load_id = ?1))
         ON CONFLICT (load_id, line, issue) DO NOTHING`,
      params: [input.loadId, column, input.cap],
    },
    {
      sql: `UPDATE etl_loads SET rows_rejected = coalesce(rows_read - rows_valid, 0) + (SELECT count(*) FROM (${duplicates}) WHERE _line > first_line), rejected_rows_cap = ?2
         WHERE load_id = ?1`,
      params: [input.loadId, input.cap],
    },
  ];
}
