import { log } from '@temporalio/activity';
import type { D1Client, D1Param } from '../d1/client.ts';
import { controlSql, createControlStore } from './control-store.ts';

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

/** Reading and writing back the audit trail around a restore. */
export const createAuditTrailActivities = (deps: { d1: Pick<D1Client, 'query' | 'batch' | 'first'> }) => ({
  /** The audit rows written since `since` (an ISO instant, the bookmark's), for rewriteAuditTrail. */
  async captureAuditTrail(input: { since: string }): Promise<AuditTrail> {
    const since = new Date(Date.parse(input.since) - marginMs).toISOString();
    const store = createControlStore(deps.d1);
    const trail: AuditTrail = { incidents: [], approvals: [], signoffs: [] };
    for (const key of controlSql.audit.auditKeys) trail[key] = await store.audit.capture(key, since);
    log.info('audit trail captured', { since, incidents: trail.incidents.length, approvals: trail.approvals.length, signoffs: trail.signoffs.length });
    return trail;
  },

  /** Writes the captured rows back as they were (same ids), after a restore. Idempotent. */
  async rewriteAuditTrail(input: { trail: AuditTrail }): Promise<{ rows: number }> {
    const statements = controlSql.audit.auditKeys.flatMap((key) => input.trail[key].map((row) => controlSql.audit.rewriteAuditStatement(key, row)));
    for (let at = 0; at < statements.length; at += 50) await deps.d1.batch(statements.slice(at, at + 50));
    log.warn('audit trail rewritten after a restore', { rows: statements.length });
    return { rows: statements.length };
  },
});
