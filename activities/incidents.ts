import { activityInfo, log } from '@temporalio/activity';
import type { RecordedIncidentFacts } from '../common/incident-facts.ts';
import type { D1Client } from '../d1/client.ts';
import { incidentHoldsTable } from '../history/incident-tables.ts';
import type { AlertDeps, AlertDelivery } from './alert.ts';
import { createAlertActivities } from './alert.ts';
import { composeAlert } from './alert-message.ts';

/** What incident bookkeeping needs. */
export interface IncidentDeps extends AlertDeps {
  d1: Pick<D1Client, 'query' | 'batch'>;
  mail: AlertDeps['mail'] & { from: string; to: string[] };
  /** To link alerts to the Temporal Web UI. */
  temporalUi: { url: string; namespace: string };
}

/** A name-based approveRollback decision (before signed approvals) to record. */
export interface IncidentDecision {
  incidentId: string;
  by: string;
  mode: string;
  accepted: boolean;
  reason?: string;
}

/** Incidents in D1 (etl_incidents, decisions, deferred loads) and the alert to Paul. */
export const createIncidentActivities = (deps: IncidentDeps) => {
  const { sendAlert } = createAlertActivities(deps);
  return {
    /** Records the incident as open (once), whatever happens to the alert afterwards; answers the date the table stays authoritative for. */
    async openIncident(facts: RecordedIncidentFacts): Promise<{ authoritativeDate: string | null }> {
      await deps.d1.query(
        `INSERT INTO etl_incidents (incident_id, table_name, business_date, status, error_type, error_detail, workflow_id, opened_at, quarantine_dir, tables_json)
         VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id) DO NOTHING`,
        [facts.incidentId, facts.table, facts.businessDate, facts.errorType, facts.message, facts.workflowId, new Date().toISOString(), facts.quarantineDir, facts.tables ? JSON.stringify(facts.tables) : null],
      );
      log.warn('incident opened', { incidentId: facts.incidentId, table: facts.table, businessDate: facts.businessDate, errorType: facts.errorType });
      const [watermark] = await deps.d1.query<{ business_date: string }>('SELECT business_date FROM etl_watermarks WHERE table_name = ?', [facts.table]);
      return { authoritativeDate: watermark?.results[0]?.business_date ?? null };
    },

    /**
     * Composes and sends the alert (retried by the activity policy while SMTP is down), then notes
     * it. D1 being down stops neither: the authoritative date comes from openIncident when it
     * answered (else it is looked up, or left out), and a failed note is logged, not retried
     * (a retry would send the email twice).
     */
    async alertIncident(facts: RecordedIncidentFacts & { authoritativeDate?: string | null }): Promise<AlertDelivery> {
      const authoritativeDate =
        facts.authoritativeDate !== undefined
          ? facts.authoritativeDate ?? undefined
          : await deps.d1
              .query<{ business_date: string }>('SELECT business_date FROM etl_watermarks WHERE table_name = ?', [facts.table])
              .then(([watermark]) => watermark?.results[0]?.business_date)
              .catch(() => undefined);
      // A night incident says, table by table, which day the warehouse still shows (left out without D1).
      const authoritativeDates = facts.tables
        ? await deps.d1
            .query<{ table_name: string; business_date: string }>('SELECT table_name, business_date FROM etl_watermarks')
            .then(([watermarks]) => Object.fromEntries((watermarks?.results ?? []).map((w) => [w.table_name, w.business_date])))
            .catch(() => undefined)
        : undefined;
      const workflowUrl = `${deps.temporalUi.url}/namespaces/${encodeURIComponent(deps.temporalUi.namespace)}/workflows/${encodeURIComponent(facts.workflowId)}`;
      const message = composeAlert({ ...facts, authoritativeDate, ...(authoritativeDates ? { authoritativeDates } : {}), workflowUrl, from: deps.mail.from, to: deps.mail.to });
      const delivery = await sendAlert(message);
      await deps.d1.query('UPDATE etl_incidents SET alert_via = ?, alert_sent_at = ? WHERE incident_id = ?', [delivery.via, new Date().toISOString(), facts.incidentId]).catch((error: unknown) => {
        log.error('alert sent but not noted in etl_incidents', { incidentId: facts.incidentId, via: delivery.via, error: (error as Error).message });
      });
      return delivery;
    },

    /**
     * Legacy: records a decision of the name-based approvals that came before signed ones. Only
     * an incident whose history already holds such a decision (replayed after the upgrade) calls it.
     */
    async recordIncidentDecision(decision: IncidentDecision): Promise<void> {
      const now = new Date().toISOString();
      // Keyed by the activity execution (stable across its retries), not the clock: a resent batch adds no second row.
      const { workflowExecution, activityId } = activityInfo();
      await deps.d1.batch([
        {
          sql: `INSERT INTO etl_approvals (decision_key, action, target, mode, accepted, reason, approver, decided_at)
                VALUES (?, 'approve-incident', ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          params: [`legacy-${decision.incidentId}-${decision.by}-${workflowExecution?.runId ?? 'run'}-${activityId}`, decision.incidentId, decision.mode === 'rewind' || decision.mode === 'time-travel' ? decision.mode : null, decision.accepted ? 1 : 0, decision.reason ?? null, decision.by, now],
        },
        ...(decision.accepted
          ? [{ sql: "UPDATE etl_incidents SET status = 'approved', approved_by = ?, rollback_mode = ? WHERE incident_id = ?", params: [decision.by, decision.mode, decision.incidentId] }]
          : []),
      ]);
      log.info('legacy incident decision recorded', { ...decision });
    },

    /** The open incident holding a table back, if any: the table's own, or a night incident that lists it. */
    async openIncidentFor(input: { table: string }): Promise<{ incidentId: string; businessDate: string } | undefined> {
      const [open] = await deps.d1.query<{ incident_id: string; business_date: string }>(
        `SELECT incident_id, business_date FROM etl_incidents i WHERE ${incidentHoldsTable('i', '?1')} AND status IN ('open', 'approved') ORDER BY business_date, incident_id LIMIT 1`,
        [input.table],
      );
      const row = open?.results[0];
      return row ? { incidentId: row.incident_id, businessDate: row.business_date } : undefined;
    },

    /** Notes a validated, archived export that an open incident holds back (a night incident holds several tables per night). */
    async recordDeferredLoad(input: { incidentId: string; table: string; businessDate: string; loadId: string; archivePath: string }): Promise<void> {
      await deps.d1.query(
        `INSERT INTO etl_deferred_loads (incident_id, table_name, business_date, load_id, archive_path, deferred_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (incident_id, table_name, business_date) DO UPDATE SET load_id = excluded.load_id, archive_path = excluded.archive_path, deferred_at = excluded.deferred_at`,
        [input.incidentId, input.table, input.businessDate, input.loadId, input.archivePath, new Date().toISOString()],
      );
      await deps.d1.query("UPDATE etl_loads SET status = 'deferred' WHERE load_id = ?", [input.loadId]);
    },
  };
};
