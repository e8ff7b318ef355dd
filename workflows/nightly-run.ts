import { ApplicationFailure, executeChild, patched, proxyActivities, proxyLocalActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { addDays } from '../common/business-dates.ts';
import { businessDateKey, etlStatusKey } from '../common/search-attributes.ts';
import { tableContracts } from '../contracts/index.ts';
import { localShortActivity, shortActivity } from './activity-profiles.ts';
import { loadTableChildAttributes } from './etl-search-attributes.ts';
import { describeFailure } from './failures.ts';
import { withWarehouseLease } from './lease-holder.ts';
import { loadTable, type LoadTableInput, type LoadTableResult } from './load-table.ts';
import { mapWithConcurrency } from './concurrency.ts';
import { childWorkflowId, nightlyRecheckWorkflowId, nightlyTableWorkflowId, oneChildIdShapePatch } from './messages.ts';
import { holdMissingNight, nightIncidentPatch } from './missing-night.ts';
import { recheck, type RecheckResult } from './recheck.ts';
import { nightProgressPatch, stagesByQueryPatch, trackNightProgress } from './night-progress.ts';
import { loadStepSummaries, loadTableSummary, nightSummaries, recheckSummary } from './summaries.ts';

const remoteNightSteps = proxyActivities<Activities>(shortActivity);
const { beginRun, recordLoadFailure } = remoteNightSteps;
const localNightSteps = proxyLocalActivities<Activities>(localShortActivity);

/**
 * Patch marker: the night's re-check query (`changedExports`) and its summary (`finishRun`) are local
 * activities (activity-profiles.ts); histories before it ran them as activities.
 */
export const localNightStepsPatch = 'local-night-steps';

/** A night to load: the business date, and optionally a subset of tables. */
export interface NightlyRunInput {
  businessDate: string;
  tables?: string[];
  /** Tables loaded at once (default 4). */
  maxParallel?: number;
  /** Legacy (histories before signed approvals): ignored; who may approve is the worker's configuration. */
  approvers?: string[];
  /** Late corrections: re-exports of the previous N days are looked for before loading (default 7; 0: none). */
  recheckDays?: number;
}

/** One table's line in the night's summary. */
export type TableOutcome = (LoadTableResult & { errorType?: undefined }) | { table: string; businessDate: string; status: 'failed'; errorType: string; message: string };

/** The night's summary, also stored in etl_runs.summary_json. */
export interface NightlySummary {
  businessDate: string;
  runId: string;
  bookmark: string;
  status: 'ok' | 'partial' | 'failed';
  tables: TableOutcome[];
  /** Earlier days whose export was corrected since it was loaded: rewound and replayed before this night's loads. */
  rechecked?: RecheckResult[];
}

/**
 * The nightly run: take a Time Travel bookmark, load every table in a child
 * `loadTable` (bounded fan-out), then record the summary. One table failing
 * never stops the others; a night none of whose exports arrived is one incident for all
 * its tables, not one per table (missing-night.ts). All of it holds the warehouse lease
 * shared (its re-checks write under it), so a whole-warehouse restore waits for the night to end.
 */
export async function nightlyRun(input: NightlyRunInput): Promise<NightlySummary> {
  const { businessDate } = input;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(businessDate)) {
    throw ApplicationFailure.create({ type: 'InvalidInput', message: `business date must be YYYY-MM-DD, got "${businessDate}"`, nonRetryable: true });
  }
  const { workflowId, runId: temporalRunId } = workflowInfo();
  const runId = `${workflowId}:${temporalRunId}`;
  const tables = input.tables ?? tableContracts.map((c) => c.table);
  upsertSearchAttributes([
    { key: businessDateKey, value: businessDate },
    { key: etlStatusKey, value: 'running' },
  ]);

  const tracker = trackNightProgress(businessDate, tables);
  // The night writes from its bookmark to its summary under a shared lease: no restore runs meanwhile.
  const onWait = (waitingFor: string | undefined) => tracker.phase(waitingFor ? 'waiting for the warehouse lease' : 'beginning', waitingFor);
  return withWarehouseLease('shared', { resumeStatus: 'running', onWait }, () => loadNight(input, tables, { workflowId, runId }, tracker));
}

/** The night's writing, from the bookmark to the summary (run under the warehouse lease). */
async function loadNight(input: NightlyRunInput, tables: string[], { workflowId, runId }: { workflowId: string; runId: string }, tracker: NightProgressTracker): Promise<NightlySummary> {
  const { businessDate } = input;
  tracker.phase('beginning');
  const { bookmark } = await beginRun.executeWithOptions({ summary: nightSummaries.beginRun(businessDate, tables.length) }, [{ runId, workflowId, businessDate, tablesTotal: tables.length }]);
  const { changedExports, finishRun } = patched(localNightStepsPatch) ? localNightSteps : remoteNightSteps;
  tracker.phase('late corrections');
  const { results: rechecked, failed: recheckFailed } = patched('late-corrections') ? await recheckCorrectedDays(businessDate, tables, input, changedExports) : { results: [], failed: new Map<string, RecheckFailure>() };
  const toFetch = tables.filter((table) => !recheckFailed.has(table));
  tracker.phase("waiting for the night's first file");
  const night = patched(nightIncidentPatch) ? await holdMissingNight({ businessDate, runId, tables: toFetch }) : {};
  const missingNight = night.held;
  tracker.deadlineIs(night.deadlineLocal);
  tracker.phase('loading');
  // Children answer their own step (a query); before, each reported it by a signal.
  const stagesByQuery = patched(stagesByQueryPatch);
  const reportStages = !stagesByQuery && patched(nightProgressPatch);
  const tableChildId = patched(oneChildIdShapePatch) ? (table: string) => childWorkflowId(workflowId, table, businessDate) : (table: string) => nightlyTableWorkflowId(workflowId, table);
  /** One table's outcome: held by a missing night, by a failed re-check, or its loadTable child's. */
  const loadOneTable = async (table: string): Promise<TableOutcome> => {
    const missing = missingNight?.get(table);
    if (missing) return missing;
    const notRechecked = recheckFailed.get(table);
    if (notRechecked) {
      // Its history may be rewound half-way: tonight's file is not loaded on top of it.
      const message = `the re-check of ${notRechecked.date} failed (${notRechecked.reason}); tonight's file is not loaded on top of it: run warehouse recheck --date ${notRechecked.date}, then warehouse run --date ${businessDate}`;
      await recordLoadFailure.executeWithOptions({ summary: loadStepSummaries.recordFailure(table, businessDate, 'RecheckFailed') }, [{ runId, table, businessDate, errorType: 'RecheckFailed', errorDetail: message, reverted: false }]);
      return { table, businessDate, status: 'failed', errorType: 'RecheckFailed', message };
    }
    try {
      const args: [LoadTableInput] = [{ table, businessDate, runId, ...(night.deadlineLocal ? { exportDeadline: night.deadlineLocal } : {}), ...(reportStages ? { reportStages } : {}) }];
      tracker.started(table, stagesByQuery ? tableChildId(table) : undefined);
      return await executeChild(loadTable, { workflowId: tableChildId(table), args, staticSummary: loadTableSummary(table, businessDate), ...loadTableChildAttributes(table, businessDate) });
    } catch (error) {
      const failure = describeFailure(error);
      return { table, businessDate, status: 'failed', errorType: failure.type, message: failure.message };
    }
  };
  const outcomes = await mapWithConcurrency(tables, input.maxParallel ?? 4, async (table): Promise<TableOutcome> => {
    const outcome = await loadOneTable(table);
    tracker.ended(outcome);
    return outcome;
  });

  const failed = outcomes.filter((o) => o.status === 'failed').length;
  const deferred = outcomes.filter((o) => o.status === 'deferred').length;
  const status = failed === outcomes.length ? 'failed' : failed + deferred === 0 ? 'ok' : 'partial';
  const summary: NightlySummary = { businessDate, runId, bookmark, status, tables: outcomes, ...(rechecked.length ? { rechecked } : {}) };
  tracker.phase('done');
  await finishRun.executeWithOptions({ summary: nightSummaries.finishRun(businessDate, status, outcomes.length - failed, outcomes.length) }, [{ runId, status, tablesOk: outcomes.length - failed, tablesFailed: failed, summary }]);
  upsertSearchAttributes([{ key: etlStatusKey, value: status }]);
  return summary;
}

/** The night's progress tracker (night-progress.ts). */
type NightProgressTracker = ReturnType<typeof trackNightProgress>;

/** Why a table's late correction could not be re-checked before tonight's load. */
interface RecheckFailure {
  date: string;
  reason: string;
}

/**
 * Before loading a night: an earlier day (within `recheckDays`) whose export Sodiwin has
 * re-sent with other content is re-checked first (rewind and replay), so tonight's load
 * goes on top of the corrected history. A re-check that fails holds back tonight's load of
 * its tables (returned in `failed` with the reason), never the others.
 */
async function recheckCorrectedDays(
  businessDate: string,
  tables: string[],
  input: NightlyRunInput,
  changedExports: typeof remoteNightSteps.changedExports,
): Promise<{ results: RecheckResult[]; failed: Map<string, RecheckFailure> }> {
  const failed = new Map<string, RecheckFailure>();
  const days = input.recheckDays ?? 7;
  if (days <= 0) return { results: [], failed };
  const changed = await changedExports.executeWithOptions({ summary: nightSummaries.changedExports(days) }, [{ fromDate: addDays(businessDate, -days), toDate: addDays(businessDate, -1), tables }]);
  const results: RecheckResult[] = [];
  for (const date of [...new Set(changed.map((c) => c.businessDate))].sort()) {
    const recheckTables = [...new Set(changed.filter((c) => c.businessDate === date).map((c) => c.table))];
    try {
      results.push(
        await executeChild(recheck, {
          workflowId: nightlyRecheckWorkflowId(workflowInfo().workflowId, date),
          args: [{ businessDate: date, tables: recheckTables }],
          staticSummary: recheckSummary(date, recheckTables),
        }),
      );
    } catch (error) {
      // The other tables still load tonight; these wait for the re-check to be run again.
      const failure = describeFailure(error);
      for (const table of recheckTables) failed.set(table, { date, reason: `${failure.type}: ${failure.message}` });
    }
  }
  return { results, failed };
}
