import { condition, patched, proxyActivities, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { RollbackMode } from '../common/approval-statement.ts';
import type { RecordedIncidentFacts } from '../common/incident-facts.ts';
import { businessDateKey, etlStatusKey } from '../common/search-attributes.ts';
import { alertActivity, shortActivity } from './activity-profiles.ts';
import { signedApprovalsPatch } from './approval-messages.ts';
import { restoreKeepingAuditTrail } from './audit-restore.ts';
import { markEtlAttributes } from './etl-search-attributes.ts';
import { describeFailure, unrevertedLoadOf } from './failures.ts';
import { withWarehouseLease } from './lease-holder.ts';
import {
  approvalPayloadProblem,
  approveRollbackSignal,
  approveRollbackUpdate,
  exportDeferredSignal,
  incidentStateQuery,
  incidentWorkflowId,
  type ApprovalOutcome,
  type ApprovalPayload,
  type IncidentInput,
  type IncidentState,
} from './messages.ts';
import { replayLoads } from './replay-loads.ts';

/** Patch marker: the alert no longer waits for the incident's D1 row (histories before it did). */
const alarmIndependentOfD1Patch = 'alarm-independent-of-d1';
/**
 * Patch marker: a rewind repair first reverts the failed load whose own revert did not complete
 * (`unreverted`), a command histories before it never issued.
 */
export const revertUnrevertedLoadPatch = 'revert-unreverted-load';
/**
 * Patch marker: a load replayed by the repair that failed and whose revert did not complete
 * becomes the incident's `unreverted` (its quarantine finds this incident open and leaves it
 * as it is), so the next rewind reverts it. Histories before it forgot that load.
 */
export const repairKeepsUnrevertedPatch = 'repair-keeps-unreverted';

const { openIncident, recordIncidentDecision, decideApproval, revertLoad, rewindTable, loadsSince, bookmarkBefore, rollbackPointBefore, restoreWarehouse, resolveIncident } = proxyActivities<Activities>(shortActivity);
const { alertIncident } = proxyActivities<Activities>(alertActivity);

/** Defined in messages.ts; still exported here for test/workflows/missing-inbox.test.ts, which imports it from this file. */
export { nightIncidentWorkflowId } from './messages.ts';

/** One approval message waiting for its decision. */
interface PendingApproval {
  decisionId: string;
  payload: unknown;
  outcome?: ApprovalOutcome;
}

/**
 * incident-<table>-<date>: opened by a quarantine, it outlives the nightly run. It records
 * the incident, alerts Paul (retrying while SMTP is down), collects the later nights'
 * deferred exports, and waits for an approval signed by a key on the worker's list. Every
 * decision, accepted or refused, is recorded once, including those that arrive during a repair.
 */
export async function incident(input: IncidentInput): Promise<IncidentState> {
  const { workflowId, runId } = workflowInfo();
  const state: IncidentState = {
    incidentId: workflowId,
    table: input.table,
    businessDate: input.businessDate,
    status: 'opening',
    errorType: input.errorType,
    message: input.message,
    quarantineDir: input.quarantineDir,
    evidence: { table: input.table, businessDate: input.businessDate, sha256: input.sha256 ?? null },
    alert: 'pending',
    deferred: [],
    refusals: [],
    replayed: [],
    ...(input.tables ? { tables: input.tables } : {}),
    ...(input.unreverted ? { unreverted: input.unreverted } : {}),
  };
  /** The tables the repair loads again: the incident's own, or every table of a night incident. */
  const heldTables = input.tables ?? [input.table];
  /** The later nights deferred for one of them (a one-table incident's deferrals name no table). */
  const deferredDatesOf = (table: string) => state.deferred.filter((d) => d.table === undefined || d.table === table).map((d) => d.businessDate);
  const legacyDecisions: { by: string; mode: RollbackMode; accepted: boolean; reason?: string }[] = [];
  const approvals: PendingApproval[] = [];
  let received = 0;
  let deciding = false;
  let restoring = false;

  setHandler(incidentStateQuery, () => state);
  setHandler(exportDeferredSignal, (deferred: unknown) => {
    // Sent by loadTable; a malformed one (anyone can signal) is ignored rather than failing the workflow task.
    const { businessDate, loadId, table } = (deferred ?? {}) as { businessDate?: unknown; loadId?: unknown; table?: unknown };
    if (typeof businessDate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(businessDate) || typeof loadId !== 'string') return;
    if (input.tables) {
      // A night incident defers each of its tables separately, and replays each for the nights it was held back.
      if (typeof table !== 'string' || !input.tables.includes(table)) return;
      if (!state.deferred.some((d) => d.businessDate === businessDate && d.table === table)) state.deferred.push({ businessDate, loadId, table });
      state.deferred.sort((a, b) => a.businessDate.localeCompare(b.businessDate) || a.table!.localeCompare(b.table!));
      return;
    }
    if (!state.deferred.some((d) => d.businessDate === businessDate)) state.deferred.push({ businessDate, loadId });
    state.deferred.sort((a, b) => a.businessDate.localeCompare(b.businessDate));
  });
  // Never throws, whatever the payload: a malformed, unsigned or foreign approval becomes a recorded refusal.
  setHandler(approveRollbackSignal, (payload: unknown) => {
    if (!patched(signedApprovalsPatch)) return legacyApproval(payload as { by: string; mode: RollbackMode });
    approvals.push({ decisionId: `${workflowId}/${runId}/${++received}`, payload });
  });
  setHandler(
    approveRollbackUpdate,
    async (payload: ApprovalPayload) => {
      const pending: PendingApproval = { decisionId: `${workflowId}/${runId}/${++received}`, payload };
      approvals.push(pending);
      await condition(() => pending.outcome !== undefined);
      return pending.outcome!;
    },
    {
      validator: (payload: unknown) => {
        const problem = approvalPayloadProblem(payload);
        if (problem) throw new Error(`approval rejected: ${problem}`);
      },
    },
  );

  /** Name-based approvals of histories recorded before signatures (replay only). */
  function legacyApproval(approval: { by: string; mode: RollbackMode }): void {
    const reason = !(input.approvers ?? []).includes(approval.by) ? `${approval.by} is not an approver (approvers: ${(input.approvers ?? []).join(', ')})` : state.approval ? `already approved by ${state.approval.by}` : undefined;
    if (reason) {
      state.refusals.push({ ...approval, reason });
      legacyDecisions.push({ ...approval, accepted: false, reason });
      return;
    }
    state.approval = approval;
    legacyDecisions.push({ ...approval, accepted: true });
  }

  /** Decides the approvals one at a time, for the incident's whole life (paused while a restore runs). */
  async function decideApprovals(): Promise<never> {
    for (;;) {
      await condition(() => approvals.length > 0 && !restoring);
      const pending = approvals[0]!;
      deciding = true;
      const problem = approvalPayloadProblem(pending.payload);
      const busy = state.approval ? `already approved by ${state.approval.by}` : undefined;
      let outcome: ApprovalOutcome;
      try {
        outcome = await decideApproval({
          decisionId: pending.decisionId,
          expected: { action: 'approve-incident', target: workflowId, evidence: state.evidence },
          approval: problem ? { malformed: problem } : (pending.payload as ApprovalPayload),
          ...(busy ? { refuse: busy } : {}),
        });
      } catch (error) {
        outcome = { decisionId: pending.decisionId, accepted: false, reason: `the decision could not be recorded: ${describeFailure(error).message}` };
      }
      approvals.shift();
      deciding = false;
      pending.outcome = outcome;
      if (outcome.accepted && outcome.approver && outcome.mode) {
        state.approval = { by: outcome.approver, mode: outcome.mode, decisionId: outcome.decisionId, ...(outcome.fingerprint ? { fingerprint: outcome.fingerprint } : {}) };
      } else {
        state.refusals.push({ reason: outcome.reason ?? 'refused', decisionId: outcome.decisionId, ...(outcome.approver ? { by: outcome.approver } : {}), ...(outcome.mode ? { mode: outcome.mode } : {}) });
      }
    }
  }

  /** Notes how the alert went out. */
  function noteDelivery(delivery: { via: 'smtp' | 'file'; path?: string }): void {
    state.alert = delivery.via;
    if (delivery.path) state.alertFile = delivery.path;
  }

  /** Notes what the repair waits for (the warehouse lease, held by a nightly run), or that it waits no more. */
  function noteWait(waitingFor: string | undefined): void {
    if (waitingFor) state.waitingFor = waitingFor;
    else delete state.waitingFor;
  }

  /** Runs a D1 bookkeeping step until it succeeds (each attempt has the activity's own retries), waiting between rounds. */
  async function recordUntilDone<T>(step: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await step();
      } catch (error) {
        state.lastRecordError = describeFailure(error).message;
        await sleep('5 minutes');
      }
    }
  }

  /**
   * The failed load whose revert did not complete is reverted again before the table is rewound
   * (the rewind reverts only loads that were published, and a failed one is quarantined). A revert
   * that fails again fails the repair: the incident is open again, and the next approval retries.
   */
  async function revertUnrevertedLoad(): Promise<void> {
    if (!state.unreverted || !patched(revertUnrevertedLoadPatch)) return;
    await revertLoad({ table: input.table, loadId: state.unreverted.loadId });
    delete state.unreverted;
  }

  /** A failed replay of this incident's own day left part of its load: the next rewind reverts it first. */
  function keepUnrevertedReplay(failed: { load: { table: string; businessDate: string }; error: unknown }[]): void {
    for (const { load, error } of failed) {
      const unreverted = unrevertedLoadOf(error);
      if (!unreverted || incidentWorkflowId(load.table, load.businessDate) !== workflowId) continue;
      if (!patched(repairKeepsUnrevertedPatch)) return;
      state.unreverted = unreverted;
    }
  }

  /** Rolls back (rewind or time travel), then replays every affected day in date order. */
  async function repair(mode: RollbackMode): Promise<string[]> {
    let items: { table: string; businessDate: string }[];
    if (mode === 'rewind') {
      items = [];
      await revertUnrevertedLoad();
      for (const table of heldTables) {
        const { rewound } = await rewindTable({ table, fromDate: input.businessDate });
        const dates = new Set([input.businessDate, ...deferredDatesOf(table), ...rewound]);
        items.push(...[...dates].map((businessDate) => ({ table, businessDate })));
      }
    } else if (patched(signedApprovalsPatch)) {
      const point = await rollbackPointBefore({ businessDate: input.businessDate });
      if (!point) throw new Error(`no Time Travel bookmark was taken before the ${input.businessDate} run`);
      items = await loadsSince({ fromDate: input.businessDate });
      for (const table of heldTables) if (!items.some((i) => i.table === table && i.businessDate === input.businessDate)) items.push({ table, businessDate: input.businessDate });
      // No decision is recorded while the restore runs: it would be undone with everything else.
      restoring = true;
      await condition(() => !deciding);
      try {
        await restoreKeepingAuditTrail(point);
      } finally {
        restoring = false;
      }
      // The restore undid the whole night, the unreverted load with it.
      delete state.unreverted;
    } else {
      const bookmark = await bookmarkBefore({ businessDate: input.businessDate });
      if (!bookmark) throw new Error(`no Time Travel bookmark was taken before the ${input.businessDate} run`);
      items = await loadsSince({ fromDate: input.businessDate });
      if (!items.some((i) => i.table === input.table && i.businessDate === input.businessDate)) items.push({ table: input.table, businessDate: input.businessDate });
      await restoreWarehouse({ bookmark });
      await openIncident(facts);
      for (const refusal of state.refusals) await recordIncidentDecision({ incidentId: workflowId, by: refusal.by ?? '', mode: refusal.mode ?? '', reason: refusal.reason, accepted: false });
      await recordIncidentDecision({ incidentId: workflowId, ...state.approval!, accepted: true });
    }
    const report = await replayLoads(items, {
      releasedChildId: ({ table, businessDate }) => `${workflowId}-replay-${businessDate}-${table}`,
      input: ({ table, businessDate }) => ({ table, businessDate, runId: workflowId, repairOf: workflowId }),
      released: 'abandon',
    });
    if (report.failed[0]) {
      keepUnrevertedReplay(report.failed);
      throw report.failed[0].error;
    }
    return report.dates;
  }

  upsertSearchAttributes([
    { key: businessDateKey, value: input.businessDate },
    { key: etlStatusKey, value: 'incident-open' },
  ]);
  // The table it holds back (`inbox` for a night none of whose exports arrived): "is customers held?" is a filter.
  markEtlAttributes({ table: input.table });
  const facts: RecordedIncidentFacts = {
    incidentId: workflowId,
    workflowId,
    table: input.table,
    businessDate: input.businessDate,
    errorType: input.errorType,
    message: input.message,
    quarantineDir: input.quarantineDir,
    ...(input.issues ? { issues: input.issues } : {}),
    ...(input.tables ? { tables: input.tables } : {}),
    ...(input.night ? { night: input.night } : {}),
    ...(input.unreverted ? { unreverted: input.unreverted } : {}),
  };
  void decideApprovals();
  let alerted: Promise<void>;
  if (patched(alarmIndependentOfD1Patch)) {
    // The alarm must not wait on D1: recording the incident is retried for as long as it takes,
    // and the alert goes out as soon as it is recorded, or after two minutes without D1.
    const recorded = recordUntilDone(() => openIncident(facts));
    const opened = await Promise.race([recorded, sleep('2 minutes').then(() => undefined)]);
    state.status = 'open';
    alerted = alertIncident({ ...facts, ...(opened ? { authoritativeDate: opened.authoritativeDate } : {}) }).then(noteDelivery);
    await recorded;
  } else {
    await openIncident(facts);
    state.status = 'open';
    alerted = alertIncident(facts).then(noteDelivery);
    // An approval need not wait for the alert (SMTP may be down for hours); histories from before waited.
    if (!patched(signedApprovalsPatch)) await alerted;
  }

  for (;;) {
    await condition(() => legacyDecisions.length > 0 || (state.approval !== undefined && !deciding));
    if (legacyDecisions.length > 0) {
      await recordIncidentDecision({ incidentId: workflowId, ...legacyDecisions.shift()! });
      if (!(state.approval && legacyDecisions.length === 0)) continue;
    }
    state.status = 'repairing';
    upsertSearchAttributes([{ key: etlStatusKey, value: 'incident-repairing' }]);
    try {
      // A time-travel repair replaces the whole warehouse: it waits until no load runs (exclusive); a rewind is one more writer.
      const mode = state.approval!.mode;
      state.replayed = await withWarehouseLease(mode === 'time-travel' ? 'exclusive' : 'shared', { onWait: noteWait, resumeStatus: 'incident-repairing' }, () => repair(mode));
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
  // Repaired while SMTP was still down: the alert still goes out, once it is back.
  await alerted;
  return state;
}
