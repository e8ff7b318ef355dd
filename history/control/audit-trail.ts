import type { D1Param } from '../../d1/client.ts';
import type { ControlStatement } from './statement.ts';

/**
 * The audit rows a whole-warehouse restore must not erase (incidents, approval decisions,
 * parity sign-offs): read since an instant before the restore, written back as they were
 * after it. Pure builders.
 */

/** Which audit table, under which key of the captured trail. */
export type AuditKey = 'incidents' | 'approvals' | 'signoffs';

const auditTables: readonly { key: AuditKey; table: string; where: string; order: string }[] = [
  // Incidents opened since, and every incident not closed before the bookmark (its status may have changed since).
  { key: 'incidents', table: 'etl_incidents', where: 'opened_at >= ?1 OR closed_at IS NULL OR closed_at >= ?1', order: 'incident_id' },
  { key: 'approvals', table: 'etl_approvals', where: 'decided_at >= ?1', order: 'approval_id' },
  { key: 'signoffs', table: 'etl_parity_signoffs', where: 'signed_at >= ?1', order: 'signoff_id' },
];

/** The audit keys, in the order they are captured and written back. */
export const auditKeys: readonly AuditKey[] = auditTables.map((t) => t.key);

/** The rows of one audit table written since `since` (ISO). */
export function captureAuditQuery(key: AuditKey, since: string): ControlStatement {
  const t = auditTables.find((x) => x.key === key)!;
  return { sql: `SELECT * FROM ${t.table} WHERE ${t.where} ORDER BY ${t.order}`, params: [since] };
}

const columnName = /^[a-z_][a-z0-9_]*$/;

/** One captured row written back as it was (same ids). Throws on a column name that is not a plain identifier. */
export function rewriteAuditStatement(key: AuditKey, row: Record<string, D1Param>): ControlStatement {
  const { table } = auditTables.find((x) => x.key === key)!;
  const columns = Object.keys(row);
  if (!columns.every((c) => columnName.test(c))) throw new Error(`unexpected column name in the captured ${table} rows`);
  return { sql: `INSERT OR REPLACE INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, params: columns.map((c) => row[c] ?? null) };
}
