import { condition, defineQuery, defineSignal, executeChild, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { RowIssue } from '../common/errors.ts';
import { businessDateKey, etlStatusKey } from '../common/search-attributes.ts';
import { alertActivity, shortActivity } from './activity-profiles.ts';
import { describeFailure } from './failures.ts';
import { loadTable } from './load-table.ts';
import { mapWithConcurrency } from './concurrency.ts';

const { openIncident, recordIncidentDecision, rewindTable, loadsSince, bookmarkBefore, restoreWarehouse, resolveIncident } = proxyActivities<Activities>(shortActivity);
const { alertIncident } = proxyActivities<Activities>(alertActivity);

/** How to roll back: D1 Time Travel for the whole warehouse, or a per-table rewind by load ids. */
export type RollbackMode = 'rewind' | 'time-travel';

/** An approver's go-ahead for the rollback and roll-forward. */
export interface ApproveRollback {
  by: string;
  mode: RollbackMode;
}

/** Approve the rollback of an incident (refused unless `by` is on the configured list). */
export const approveRollbackSignal = defineSignal<[ApproveRollback]>('approveRollback');
/** A later night's export of the table, archived and validated but held back. */
export const exportDeferredSignal = defineSignal<[{ businessDate: string; loadId: string }]>('exportDeferred');
/** The incident as it stands. */
export const incidentStateQuery = defineQuery<IncidentState>('incidentState');

/** What starts an incident: a quarantined table's export. */
export interface IncidentInput {
  table: string;
  businessDate: string;
  errorType: string;
  message: string;
  issues?: RowIssue[];
  quarantineDir: string;
  /** Names allowed to approve (from the worker's configuration, fixed when the incident opens). */
  approvers: string[];
}

/** The incident's state, for the CLI and the Web UI. */
export interface IncidentState {
  incidentId: string;
  table: string;
  businessDate: string;
  status: 'opening' | 'open' | 'repairing' | 'resolved';
  errorType: string;
  message: string;
  quarantineDir: string;
  alert: 'pending' | 'smtp' | 'file';
  /** The `.eml` file, when the alert was written to disk. */
  alertFile?: string;
  deferred: { businessDate: string; loadId: string }[];
  refusals: { by: string; mode: RollbackMode; reason: string }[];
  approval?: ApproveRollback;
  /** Why the last approved repair did not complete (the incident is open again). */
  lastRepairError?: string;
  /** Business dates replayed by the repair, in order. */
  replayed: string[];
}

/** The workflow id of a table's incident for a business date. */
export const incidentWorkflowId = (table: string, businessDate: string) => `incident-${table}-${businessDate}`;

/**
 * incident-<table>-<date>: opened by a quarantine, it outlives the nightly run. It records
 * the incident, alerts Paul (retrying while SMTP is down), collects the later nights'
 * deferred exports, and waits for an authorised approveRollback; refusals are recorded.
 */
export async function incident(input: IncidentInput): Promise<IncidentState> {
  const { workflowId } = workflowInfo();
  const state: IncidentState = {
    incidentId: workflowId,
    table: input.table,
    businessDate: input.businessDate,
    status: 'opening',
    errorType: input.errorType,
    message: input.message,
    quarantineDir: input.quarantineDir,
    alert: 'pending',
    deferred: [],
    refusals: [],
    replayed: [],
  };
  const decisionsToRecord: { by: string; mode: RollbackMode; accepted: boolean; reason?: string }[] = [];

  setHandler(incidentStateQuery, () => state);
  setHandler(exportDeferredSignal, (deferred) => {
    if (!state.deferred.some((d) => d.businessDate === deferred.businessDate)) state.deferred.push(deferred);
    state.deferred.sort((a, b) => a.businessDate.localeCompare(b.businessDate));
  });
  setHandler(approveRollbackSignal, (approval) => {
    const reason = !input.approvers.includes(approval.by)
      ? `${approval.by} is not an approver (approvers: ${input.approvers.join(', ')})`
      : state.approval
        ? `already approved by ${state.approval.by}`
        : undefined;
    if (reason) {
      state.refusals.push({ ...approval, reason });
      decisionsToRecord.push({ ...approval, accepted: false, reason });
      return;
    }
    state.approval = approval;
    decisionsToRecord.push({ ...approval, accepted: true });
  });

  /** Records decisions as they arrive, until one approves the repair. */
  async function recordDecisionsUntilApproved(): Promise<void> {
    while (!(state.approval && decisionsToRecord.length === 0)) {
      await condition(() => decisionsToRecord.length > 0);
      const decision = decisionsToRecord.shift()!;
      await recordIncidentDecision({ incidentId: workflowId, ...decision });
    }
  }

  /** Rolls back (rewind or time travel), then replays every affected day in date order. */
  async function repair(mode: RollbackMode): Promise<string[]> {
    let items: { table: string; businessDate: string }[];
    if (mode === 'rewind') {
      const { rewound } = await rewindTable({ table: input.table, fromDate: input.businessDate });
      const dates = new Set([input.businessDate, ...state.deferred.map((d) => d.businessDate), ...rewound]);
      items = [...dates].map((businessDate) => ({ table: input.table, businessDate }));
    } else {
      const bookmark = await bookmarkBefore({ businessDate: input.businessDate });
      if (!bookmark) throw new Error(`no Time Travel bookmark was taken before the ${input.businessDate} run`);
      items = await loadsSince({ fromDate: input.businessDate });
      if (!items.some((i) => i.table === input.table && i.businessDate === input.businessDate)) items.push({ table: input.table, businessDate: input.businessDate });
      await restoreWarehouse({ bookmark });
      // The restore also undid this incident's own rows: write them again.
      await openIncident(facts);
      for (const refusal of state.refusals) await recordIncidentDecision({ incidentId: workflowId, ...refusal, accepted: false });
      await recordIncidentDecision({ incidentId: workflowId, ...state.approval!, accepted: true });
    }
    const dates = [...new Set(items.map((i) => i.businessDate))].sort();
    for (const businessDate of dates) {
      const tables = items.filter((i) => i.businessDate === businessDate).map((i) => i.table);
      await mapWithConcurrency(tables, 4, (table) =>
        executeChild(loadTable, {
          workflowId: `${workflowId}-replay-${businessDate}-${table}`,
          args: [{ table, businessDate, runId: workflowId, approvers: input.approvers, repairOf: workflowId }],
        }),
      );
    }
    return dates;
  }

  upsertSearchAttributes([
    { key: businessDateKey, value: input.businessDate },
    { key: etlStatusKey, value: 'incident-open' },
  ]);
  const facts = { incidentId: workflowId, workflowId, table: input.table, businessDate: input.businessDate, errorType: input.errorType, message: input.message, quarantineDir: input.quarantineDir, ...(input.issues ? { issues: input.issues } : {}) };
  await openIncident(facts);
  state.status = 'open';
  const delivery = await alertIncident(facts);
  state.alert = delivery.via;
  if (delivery.path) state.alertFile = delivery.path;

  for (;;) {
    await recordDecisionsUntilApproved();
    state.status = 'repairing';
    upsertSearchAttributes([{ key: etlStatusKey, value: 'incident-repairing' }]);
    try {
      state.replayed = await repair(state.approval!.mode);
      break;
    } catch (error) {
      // The corrected export is not there yet, or is wrong too: back to waiting for an approval.
      const failure = describeFailure(error);
      state.lastRepairError = `${failure.type}: ${failure.message}`;
      state.approval = undefined;
      state.status = 'open';
      upsertSearchAttributes([{ key: etlStatusKey, value: 'incident-open' }]);
    }
  }
  await resolveIncident({ incidentId: workflowId, replayed: state.replayed });
  state.status = 'resolved';
  upsertSearchAttributes([{ key: etlStatusKey, value: 'incident-resolved' }]);
  return state;
}
