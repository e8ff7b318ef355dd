import { ApplicationFailure, ContinueAsNew, continueAsNew, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { BackfilledTable } from '../activities/backfill.ts';
import type { DumpPart, DumpPlan } from '../activities/dump-manifest.ts';
import { decimalText, parseDecimal, sumDecimals, type Decimal } from '../common/decimal.ts';
import { etlErrorTypes } from '../common/errors.ts';
import { backfillActivity, shortActivity } from './activity-profiles.ts';
import { markEtlAttributes } from './etl-search-attributes.ts';
import { describeFailure } from './failures.ts';
import { acquireWarehouseLease, releaseWarehouseLease, type LeaseTicket } from './lease-holder.ts';
import { backfillProgressQuery, type BackfillProgress } from './messages.ts';

const { planBackfill, prepareBackfill, finishBackfill, revertBackfill, beginRun, beginBackfillRun, finishRun } = proxyActivities<Activities>(shortActivity);

/**
 * The run begins with beginBackfillRun, which keeps the bookmark taken before the first import
 * when the backfill is run again; before it, beginRun took a new one each time.
 */
export const backfillFirstBookmarkPatch = 'backfill-first-bookmark';
const { validateDumpPart, archiveDump, importDumpPart } = proxyActivities<Activities>(backfillActivity);

/** Load the historical dump in `dumpDir` (its manifest names the as-of date and the files). */
export interface BackfillInput {
  dumpDir: string;
  /** Rows per import file (default 100,000: about 15 MB of SQL). */
  chunkRows?: number;
  /** Files one run of the workflow handles before it continues as new (default 20). */
  filesPerRun?: number;
  /** Carried over continue-as-new. */
  state?: BackfillState;
  /** Carried over continue-as-new: the warehouse lease the first run was granted (shared), held to the end. */
  lease?: LeaseTicket;
}

/** Where a backfill stands, carried from one run of the workflow to the next. */
export interface BackfillState {
  plan: DumpPlan;
  phase: 'validating' | 'importing';
  /** Index in plan.parts of the next file of the phase. */
  next: number;
  tables: BackfilledTable[];
  chunksSkipped: number;
  startedAt: string;
  /** Runs of the workflow so far (1 + continue-as-new count). */
  runs: number;
}

/** What the backfill loaded. */
export interface BackfillResult {
  asOf: string;
  files: number;
  rows: number;
  tables: BackfilledTable[];
  chunksSkipped: number;
  runs: number;
}

/** Files one run handles before continuing as new: about 12 history events each, far below 10,000. */
const defaultFilesPerRun = 20;

/**
 * The historical backfill (DESIGN §7): validate every file of the dump with the nightly
 * contracts first (a bad file loads nothing), archive the dump, then import it through D1's import API, each
 * row one open version valid from the dump's as-of date; then reconcile and set the
 * watermarks. Resumable at every step; continues as new every few files so no history grows
 * past a few hundred events. A data error met while importing (a key repeated across files)
 * reverts everything the backfill wrote; an outage is waited out. It holds the warehouse
 * lease shared from its first run to its last (the grant is carried over continue-as-new).
 */
export async function backfill(input: BackfillInput): Promise<BackfillResult> {
  const held: { lease?: LeaseTicket } = input.lease ? { lease: input.lease } : {};
  try {
    const result = await backfillUnderLease(input, held);
    await releaseWarehouseLease(held.lease);
    return result;
  } catch (error) {
    // Continuing as new, the next run holds the grant on; anything else gives it back.
    if (!(error instanceof ContinueAsNew)) await releaseWarehouseLease(held.lease);
    throw error;
  }
}

/** The backfill itself; the lease it is granted (or was, by an earlier run) is kept in `held`. */
async function backfillUnderLease(input: BackfillInput, held: { lease?: LeaseTicket }): Promise<BackfillResult> {
  const filesPerRun = input.filesPerRun ?? defaultFilesPerRun;
  const chunkRows = input.chunkRows ?? 100_000;
  const { workflowId } = workflowInfo();
  let progress: BackfillProgress = { phase: 'planning', filesTotal: 0, filesValidated: 0, filesImported: 0, rowsTotal: 0 };
  setHandler(backfillProgressQuery, () => progress);
  markEtlAttributes({ status: 'backfill-running', ...(input.state ? { businessDate: input.state.plan.asOf } : {}) });
  if (!held.lease) {
    held.lease = await acquireWarehouseLease('shared', {
      onWait: (waitingFor) => {
        progress = { ...progress, waitingFor };
        if (!waitingFor) delete progress.waitingFor;
      },
      resumeStatus: 'backfill-running',
    });
  }

  let state = input.state;
  if (!state) {
    const plan = await planBackfill({ dumpDir: input.dumpDir });
    progress = { ...progress, asOf: plan.asOf, filesTotal: plan.parts.length, rowsTotal: plan.rowsTotal, startedAt: new Date().toISOString() };
    markEtlAttributes({ businessDate: plan.asOf });
    const tables = [...new Set(plan.parts.map((p) => p.table))];
    if (patched(backfillFirstBookmarkPatch)) await beginBackfillRun({ runId: workflowId, workflowId, asOf: plan.asOf, tables });
    else await beginRun({ runId: workflowId, workflowId, businessDate: plan.asOf, tablesTotal: tables.length });
    try {
      await prepareBackfill({ plan, runId: workflowId });
    } catch (error) {
      throw await fail(plan, error, false);
    }
    state = { plan, phase: 'validating', next: 0, tables: [], chunksSkipped: 0, startedAt: progress.startedAt!, runs: 1 };
  }
  let { plan } = state;
  const validated = () => (state!.phase === 'validating' ? state!.next : plan.parts.length);
  const imported = () => (state!.phase === 'importing' ? state!.next : 0);
  progress = { asOf: plan.asOf, phase: state.phase, filesTotal: plan.parts.length, filesValidated: validated(), filesImported: imported(), rowsTotal: plan.rowsTotal, startedAt: state.startedAt };

  let handled = 0;
  while (state.phase === 'validating' || state.next < plan.parts.length) {
    if (state.phase === 'validating' && state.next === plan.parts.length) {
      // Every file is valid: archive the dump (never deleted; a rebuild replays it), import from there.
      progress = { ...progress, phase: 'importing', currentFile: undefined };
      try {
        plan = await archiveDump({ plan });
      } catch (error) {
        throw await fail(plan, error, false);
      }
      state = { ...state, plan, phase: 'importing', next: 0 };
      continue;
    }
    if (handled >= filesPerRun || workflowInfo().continueAsNewSuggested) {
      return continueAsNew<typeof backfill>({ ...input, state: { ...state, runs: state.runs + 1 }, ...(held.lease ? { lease: held.lease } : {}) });
    }
    const part: DumpPart = plan.parts[state.next]!;
    progress = { ...progress, phase: state.phase, currentFile: part.file };
    try {
      if (state.phase === 'validating') {
        const report = await validateDumpPart({ dumpDir: plan.dumpDir, asOf: plan.asOf, part });
        state = { ...state, next: state.next + 1, tables: addToTable(state.tables, part.table, report) };
      } else {
        const done = await importDumpPart({ dumpDir: plan.dumpDir, asOf: plan.asOf, part, chunkRows });
        state = { ...state, next: state.next + 1, chunksSkipped: state.chunksSkipped + done.chunksSkipped };
      }
    } catch (error) {
      throw await fail(plan, error, state.phase === 'importing');
    }
    progress = { ...progress, filesValidated: validated(), filesImported: imported() };
    handled += 1;
  }

  progress = { ...progress, phase: 'finishing', currentFile: undefined };
  try {
    await finishBackfill({ asOf: plan.asOf, runId: workflowId, archiveDir: plan.dumpDir, tables: state.tables });
  } catch (error) {
    throw await fail(plan, error, true);
  }
  const result: BackfillResult = { asOf: plan.asOf, files: plan.parts.length, rows: plan.rowsTotal, tables: state.tables, chunksSkipped: state.chunksSkipped, runs: state.runs };
  await finishRun({ runId: workflowId, status: 'ok', tablesOk: state.tables.length, tablesFailed: 0, summary: result });
  progress = { ...progress, phase: 'done' };
  markEtlAttributes({ status: 'backfill-done' });
  return result;

  /**
   * Records the failure. A data error reverts whatever the backfill imported (nothing
   * half-loaded is left for readers) and marks its loads failed or reverted; anything else
   * (D1 unreachable, a token revoked) keeps the imported chunks, which a re-run resumes from.
   */
  async function fail(failedPlan: DumpPlan, error: unknown, imported: boolean): Promise<unknown> {
    const failure = describeFailure(error);
    const isDataError = (etlErrorTypes as readonly string[]).includes(failure.type);
    progress = { ...progress, phase: 'reverting', error: { type: failure.type, message: failure.message } };
    if (isDataError) {
      const tables = [...new Set(failedPlan.parts.map((p) => p.table))];
      await revertBackfill({ asOf: failedPlan.asOf, tables, status: imported ? 'reverted' : 'failed', errorType: failure.type, errorDetail: failure.message });
    }
    await finishRun({ runId: workflowId, status: 'failed', tablesOk: 0, tablesFailed: 1, summary: { error: failure, reverted: imported && isDataError } });
    progress = { ...progress, phase: 'failed' };
    markEtlAttributes({ status: 'backfill-failed' });
    return error;
  }
}

/** Adds a validated file's rows and control totals to its table's running sums. */
function addToTable(tables: BackfilledTable[], table: string, report: { rows: number; controlTotals: Record<string, string> }): BackfilledTable[] {
  const existing = tables.find((t) => t.table === table) ?? { table, files: 0, rows: 0, controlTotals: {} };
  const totals = { ...existing.controlTotals };
  for (const [column, value] of Object.entries(report.controlTotals)) totals[column] = addDecimals(totals[column] ?? '0', value);
  const updated = { table, files: existing.files + 1, rows: existing.rows + report.rows, controlTotals: totals };
  return [...tables.filter((t) => t.table !== table), updated];
}

/** Exact sum of two decimal texts (`"1234.50"`, as control totals are kept), at the larger scale of the two (common/decimal.ts). */
export function addDecimals(a: string, b: string): string {
  return decimalText(sumDecimals([readTotal(a), readTotal(b)]));
}

/** A control total's text read at its own scale, with no bound on its magnitude (a sum over many files). */
function readTotal(text: string): Decimal {
  const parsed = parseDecimal(text, { scale: text.split('.')[1]?.length ?? 0, decimalSeparator: '.', unbounded: true });
  if (!parsed.ok) throw ApplicationFailure.create({ type: 'ControlTotalUnreadable', message: `control total ${text}: ${parsed.rule}`, nonRetryable: true });
  return parsed.value;
}
