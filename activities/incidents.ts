import { activityInfo, log } from '@temporalio/activity';
import type { RecordedIncidentFacts } from '../common/incident-facts.ts';
import type { D1Client } from '../d1/client.ts';
import type { AlertDeps, AlertDelivery } from './alert.ts';
import { createAlertActivities } from './alert.ts';
import { composeAlert } from './alert-message.ts';
import { createControlStore } from './control-store.ts';

/** What incident bookkeeping needs. */
export interface IncidentDeps extends AlertDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first'>;
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
  const store = createControlStore(deps.d1);
  return {
    /** Records the incident as open (once), whatever happens to the alert afterwards; answers the date the table stays authoritative for. */
    async openIncident(facts: RecordedIncidentFacts): Promise<{ authoritativeDate: string | null }> {
      await store.incidents.open({
        incidentId: facts.incidentId, table: facts.table, businessDate: facts.businessDate, errorType: facts.errorType, errorDetail: facts.message,
        workflowId: facts.workflowId, quarantineDir: facts.quarantineDir, ...(facts.tables ? { tables: facts.tables } : {}),
      });
      log.warn('incident opened', { incidentId: facts.incidentId, table: facts.table, businessDate: facts.businessDate, errorType: facts.errorType });
      return { authoritativeDate: (await store.watermarks.of(facts.table)) ?? null };
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
          : await store.watermarks.of(facts.table).catch(() => undefined);
      // A night incident says, table by table, which day the warehouse still shows (left out without D1).
      const authoritativeDates = facts.tables
        ? await store.watermarks.all().catch(() => undefined)
        : undefined;
      const workflowUrl = `${deps.temporalUi.url}/namespaces/${encodeURIComponent(deps.temporalUi.namespace)}/workflows/${encodeURIComponent(facts.workflowId)}`;
      const message = composeAlert({ ...facts, authoritativeDate, ...(authoritativeDates ? { authoritativeDates } : {}), workflowUrl, from: deps.mail.from, to: deps.mail.to });
      const delivery = await sendAlert(message);
      await store.incidents.noteAlert(facts.incidentId, delivery.via).catch((error: unknown) => {
        log.error('alert sent but not noted in etl_incidents', { incidentId: facts.incidentId, via: delivery.via, error: (error as Error).message });
      });
      return delivery;
    },

    /**
     * Legacy: records a decision of the name-based approvals that came before signed ones. Only
     * an incident whose history already holds such a decision (replayed after the upgrade) calls it.
     */
    async recordIncidentDecision(decision: IncidentDecision): Promise<void> {
      // Keyed by the activity execution (stable across its retries), not the clock: a resent batch adds no second row.
      const { workflowExecution, activityId } = activityInfo();
      await store.approvals.recordLegacy({
        decisionKey: `legacy-${decision.incidentId}-${decision.by}-${workflowExecution?.runId ?? 'run'}-${activityId}`,
        incidentId: decision.incidentId,
        mode: decision.mode === 'rewind' || decision.mode === 'time-travel' ? decision.mode : null,
        // The incident row keeps the mode as it was sent, as before.
        incidentMode: decision.mode,
        accepted: decision.accepted,
        reason: decision.reason ?? null,
        by: decision.by,
      });
      log.info('legacy incident decision recorded', { ...decision });
    },

    /** The open incident holding a table back, if any: the table's own, or a night incident that lists it. */
    async openIncidentFor(input: { table: string }): Promise<{ incidentId: string; businessDate: string } | undefined> {
      return store.incidents.holding(input.table);
    },

    /** Notes a validated, archived export that an open incident holds back (a night incident holds several tables per night). */
    async recordDeferredLoad(input: { incidentId: string; table: string; businessDate: string; loadId: string; archivePath: string }): Promise<void> {
      await store.deferrals.record(input);
    },
  };
};
