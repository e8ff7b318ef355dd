import { getExternalWorkflowHandle, isCancellation, log, patched, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { describeFailure } from './failures.ts';
import { loadStepQuery, progressQuery, tableStageSignal, type NightProgress, type TableProgress, type TableStage, type TableStageReport } from './messages.ts';
import { exportFileOf } from './summaries.ts';

/**
 * Patch marker: a nightly run's `loadTable` children report each step they reach to it (a
 * `tableStage` signal: validate, stage, publish, verify), so its `progress` query says where
 * each table is. Histories before it sent no signal.
 */
export const nightProgressPatch = 'night-progress';

/**
 * Patch marker: a step's report travels while the step runs (the signal and the step's activity
 * leave in one workflow task) instead of the load waiting for the signal to be delivered first,
 * a workflow task more per step. Histories before it awaited each report.
 */
export const stageReportsInFlightPatch = 'stage-reports-in-flight';

/**
 * Patch marker: a nightly run no longer asks its children for `tableStage` signals (each cost
 * a workflow task in the child and one in the night, eight per table): a started table is
 * `loading` in the night, with its child's id, and the child answers its own step (`loadStep`
 * query, no history). Histories before it started children with `reportStages`.
 */
export const stagesByQueryPatch = 'stages-by-query';

/** Steps a table has ended at: a late or repeated report no longer moves it. */
const endedStages: readonly TableStage[] = ['loaded', 'unchanged', 'deferred', 'failed'];

/** How one table's load ended, as the nightly run knows it from its child. */
export interface TableEnd {
  table: string;
  status: 'loaded' | 'unchanged' | 'deferred' | 'failed';
  rowsRead?: number;
  heldBy?: string;
  errorType?: string;
  message?: string;
}

/**
 * A nightly run's progress, kept in the workflow from what it does and what its children report
 * (no command: a query reads it, and the Web UI shows its one-line form as the workflow's
 * current details). Registers the `progress` query and the `tableStage` signal.
 */
export function trackNightProgress(businessDate: string, tables: string[]) {
  const progress: NightProgress = { businessDate, phase: 'beginning', tables: tables.map((table) => ({ table, stage: 'queued', waitingFor: 'its turn (tables load a few at a time)' })) };
  let deadline: string | undefined;
  const lineOf = (table: string) => progress.tables.find((t) => t.table === table);
  const changed = () => setCurrentDetails(nightDetails(progress));
  const move = (line: TableProgress, stage: TableStage, extra: Partial<TableProgress> = {}) => {
    const { table } = line;
    Object.assign(line, { table, stage, waitingFor: undefined, ...extra });
    for (const key of ['waitingFor', 'rows', 'detail'] as const) if (line[key] === undefined) delete line[key];
    changed();
  };

  setHandler(progressQuery, () => progress);
  setHandler(tableStageSignal, (report: unknown) => {
    // Sent by the night's own children, but anyone who reaches Temporal can signal: a report is
    // taken only when it is well formed and moves a running table forward. The progress is for
    // display; nothing the night decides reads it.
    const line = acceptedReport(report, lineOf);
    if (line) move(line.line, line.stage, { ...(line.rows !== undefined ? { rows: line.rows } : line.line.rows !== undefined ? { rows: line.line.rows } : {}) });
  });
  changed();

  return {
    progress,
    /** The night as a whole moves on (or waits for something of its own). */
    phase(phase: NightProgress['phase'], waitingFor?: string): void {
      progress.phase = phase;
      if (waitingFor) progress.waitingFor = waitingFor;
      else delete progress.waitingFor;
      changed();
    },
    /** Until when the fetches wait for their file (the export deadline, as operators read it). */
    deadlineIs(local: string | undefined): void {
      deadline = local;
    },
    /**
     * A table's child has started. Given its id (patch `stages-by-query`), the table is
     * `loading` and the child answers its step; without, it fetches first, waiting for its file
     * until the deadline, and reports each step after.
     */
    started(table: string, childWorkflowId?: string): void {
      const line = lineOf(table);
      if (!line) return;
      if (childWorkflowId !== undefined) move(line, 'loading', { workflowId: childWorkflowId });
      else move(line, 'fetch', { waitingFor: waitingForExport(table, businessDate, deadline) });
    },
    /** A table's load ended (or was never started: a missing night, a failed re-check). */
    ended(end: TableEnd): void {
      const line = lineOf(end.table);
      if (!line) return;
      const detail = end.status === 'failed' ? `${end.errorType}: ${end.message}` : end.heldBy ? `held back by ${end.heldBy}` : undefined;
      move(line, end.status, { ...(end.rowsRead !== undefined && end.status !== 'failed' ? { rows: end.rowsRead } : line.rows !== undefined ? { rows: line.rows } : {}), ...(detail ? { detail } : {}) });
    },
  };
}

/** What a fetch waits for, as the progress says it. */
function waitingForExport(table: string, businessDate: string, deadline: string | undefined): string {
  return `${exportFileOf(table, businessDate)} in the inbox${deadline ? ` (until ${deadline})` : ''}`;
}

/** The steps a child reports, in their order: a report never moves a table back. */
const reportedSteps: readonly TableStage[] = ['validate', 'stage', 'publish', 'verify'];

/** A `tableStage` report the night takes: a known, running table, a step after the one it is at, a whole row count. */
function acceptedReport(report: unknown, lineOf: (table: string) => TableProgress | undefined): { line: TableProgress; stage: TableStage; rows?: number } | undefined {
  if (typeof report !== 'object' || report === null || Array.isArray(report)) return undefined;
  const { table, stage, rows } = report as Record<string, unknown>;
  const line = typeof table === 'string' ? lineOf(table) : undefined;
  const step = reportedSteps.indexOf(stage as TableStage);
  // A `loading` table's child reports nothing: it answers its step itself.
  if (!line || step < 0 || line.stage === 'loading' || endedStages.includes(line.stage) || step <= reportedSteps.indexOf(line.stage)) return undefined;
  if (rows !== undefined && !(Number.isSafeInteger(rows) && (rows as number) >= 0)) return undefined;
  return { line, stage: reportedSteps[step]!, ...(rows !== undefined ? { rows: rows as number } : {}) };
}

/** The night in one line, as the Web UI shows a workflow's current details: `2 of 3 tables done · orders: fetch, waiting for …`. */
export function nightDetails(progress: NightProgress): string {
  const done = progress.tables.filter((t) => endedStages.includes(t.stage)).length;
  const head = `${progress.businessDate}: ${done} of ${progress.tables.length} tables done (${progress.phase}${progress.waitingFor ? `: ${progress.waitingFor}` : ''})`;
  const busy = progress.tables.filter((t) => !endedStages.includes(t.stage) && t.stage !== 'queued');
  return [head, ...busy.map((t) => `${t.table}: ${t.stage}${t.waitingFor ? `, waiting for ${t.waitingFor}` : ''}${t.stage === 'loading' && t.workflowId ? ` in ${t.workflowId}` : ''}`)].join('\n');
}

/**
 * In a `loadTable`: its own step, rows and what it waits for, answered by its `loadStep`
 * query (no command, no history). It starts at fetch, waiting for its file (an archived file
 * is already there).
 */
export function trackLoadStep(input: { table: string; businessDate: string; exportDeadline?: string; archived?: unknown }): (report: TableStageReport) => void {
  const { table, businessDate } = input;
  const step: TableProgress = { table, stage: 'fetch', ...(input.archived ? {} : { waitingFor: waitingForExport(table, businessDate, input.exportDeadline) }) };
  setHandler(loadStepQuery, () => step);
  return (report) => {
    step.stage = report.stage;
    delete step.waitingFor;
    if (report.rows !== undefined) step.rows = report.rows;
  };
}

/**
 * In a `loadTable` child of a nightly run (one started with `reportStages`): tells the night
 * the step reached, without holding the step back. Never fails the load: a night that is gone
 * (terminated) just misses it.
 */
export async function reportStage(reportStages: boolean | undefined, report: TableStageReport): Promise<void> {
  const parent = workflowInfo().parent;
  if (!reportStages || !parent || !patched(nightProgressPatch)) return;
  const sent = getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(tableStageSignal, report).then(() => undefined, (error: unknown) => error);
  const missed = (error: unknown) => log.warn('the night did not get the stage reached', { ...report, ...describeFailure(error) });
  if (patched(stageReportsInFlightPatch)) {
    // A cancelled load is stopped by its step's cancellation; its report just goes unsent.
    void sent.then((error) => {
      if (error !== undefined && !isCancellation(error)) missed(error);
    });
    return;
  }
  const error = await sent;
  if (error === undefined) return;
  if (isCancellation(error)) throw error;
  missed(error);
}
