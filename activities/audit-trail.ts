import { log } from '@temporalio/activity';
import type { D1Client, D1Param } from '../d1/client.ts';

/**
 * The audit trail a whole-warehouse restore must not erase: incidents, approval decisions
 * and parity sign-offs. D1 Time Travel restores the whole database, so before a restore
 * the rows written since the bookmark are read (the activity's result is kept in the
 * workflow's history, which the restore cannot reach) and after it they are written back.
 */
export interface AuditTrail {
  incidents: Record<string, D1Param>[];
  approvals: Record<string, D1Param>[];
  signoffs: Record<string, D1Param>[];
}

/** Rows decided this long before the bookmark are captured too: clocks of worker and D1 differ a little. */
const marginMs = 10 * 60_000;

const tables = [
  // Incidents opened since, and every incident not closed before the bookmark (its status may have changed since).
  { key: 'incidents', table: 'etl_incidents', where: 'opened_at >= ?1 OR closed_at IS NULL OR closed_at >= ?1', order: 'incident_id' },
  { key: 'approvals', table: 'etl_approvals', where: 'decided_at >= ?1', order: 'approval_id' },
  { key: 'signoffs', table: 'etl_parity_signoffs', where: 'signed_at >= ?1', order: 'signoff_id' },
] as const;

const columnName = /^[a-z_][a-z0-9_]*$/;

/** Reading and writing back the audit trail around a restore. */
export const createAuditTrailActivities = (deps: { d1: Pick<D1Client, 'query' | 'batch'> }) => ({
  /** The audit rows written since `since` (an ISO instant, the bookmark's), for rewriteAuditTrail. */
  async captureAuditTrail(input: { since: string }): Promise<AuditTrail> {
    const since = new Date(Date.parse(input.since) - marginMs).toISOString();
    const trail: AuditTrail = { incidents: [], approvals: [], signoffs: [] };
    for (const { key, table, where, order } of tables) {
      const [rows] = await deps.d1.query<Record<string, D1Param>>(`SELECT * FROM ${table} WHERE ${where} ORDER BY ${order}`, [since]);
      trail[key] = rows?.results ?? [];
    }
    log.info('audit trail captured', { since, incidents: trail.incidents.length, approvals: trail.approvals.length, signoffs: trail.signoffs.length });
    return trail;
  },

  /** Writes the captured rows back as they were (same ids), after a restore. Idempotent. */
  async rewriteAuditTrail(input: { trail: AuditTrail }): Promise<{ rows: number }> {
    const statements = tables.flatMap(({ key, table }) =>
      input.trail[key].map((row) => {
        const columns = Object.keys(row);
        if (!columns.every((c) => columnName.test(c))) throw new Error(`unexpected column name in the captured ${table} rows`);
        return { sql: `INSERT OR REPLACE INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, params: columns.map((c) => row[c] ?? null) };
      }),
    );
    for (let at = 0; at < statements.length; at += 50) await deps.d1.batch(statements.slice(at, at + 50));
    log.warn('audit trail rewritten after a restore', { rows: statements.length });
    return { rows: statements.length };
  },
});
