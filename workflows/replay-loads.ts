import { executeChild, patched, workflowInfo } from '@temporalio/workflow';
import { mapWithConcurrency, runLanes } from './concurrency.ts';
import { loadTableChildAttributes } from './etl-search-attributes.ts';
import { loadTable, type LoadTableInput, type LoadTableResult } from './load-table.ts';
import { loadTableSummary } from './summaries.ts';
import { childWorkflowId, oneChildIdShapePatch } from './messages.ts';

/**
 * Patch marker of fail-fast replays: once one replayed load has failed, no further load starts
 * and the loads running are awaited before the failure is reported. Histories before it started
 * the rest of the failed date's tables and went on at once (incident, manual rollback), or
 * replayed every load whatever failed (rebuild).
 */
export const failFastReplaysPatch = 'fail-fast-replays';

/** One load to replay: a table's export of a business date. */
export interface ReplayLoad {
  table: string;
  businessDate: string;
}

/** How a caller replays its loads. */
export interface ReplayLoadsOptions<L extends ReplayLoad> {
  /**
   * The child's workflow id as the caller named it before `one-child-id-shape`, for the
   * histories recorded then; new starts are `childWorkflowId(<this workflow>, table, date)`.
   */
  releasedChildId: (load: L) => string;
  /** The child's input. */
  input: (load: L) => LoadTableInput;
  /** Loads of one date replayed at once (default 4). */
  concurrency?: number;
  /**
   * stop (default): fail-fast, the later loads would be written on top of a missing day.
   * continue: every load runs (a re-check's later days, each then held back by the incident
   * the failed day opened). Continue never changed, so only stop is behind the patch.
   */
  afterFailure?: 'stop' | 'continue';
  /**
   * What the released code did after a failure, replayed for histories without the patch:
   * abandon (the first failure answered at once, the date's other tables still started), or
   * continue (every load ran).
   */
  released?: 'abandon' | 'continue';
  /** Told each load as its child ends, loaded or failed (a progress count; it issues no command). */
  onSettled?: (load: L) => void;
}

/** What the replay did: every load loaded, failed, or not started (after a failure). */
export interface ReplayReport<L extends ReplayLoad> {
  /** The business dates, in the order they were replayed. */
  dates: string[];
  loaded: { load: L; result: LoadTableResult }[];
  /** Date by date, in the order given. The released abandon path knows only the first. */
  failed: { load: L; error: unknown }[];
  notStarted: L[];
  /** True when a failure stopped the replay (fail-fast): the caller starts nothing more either. */
  stopped: boolean;
}

/**
 * Replays loads through `loadTable` children: date by date in date order (a day's history is
 * built on the day before), the tables of one date `concurrency` at a time, in the order given.
 * Never throws for a failed child: the report says what failed (the caller rethrows or records
 * it). Fail-fast stops starting children but does not cancel the running ones: a load cancelled
 * half-way could not compensate (its revert is an activity of the cancelled scope), and a
 * parent that returned early would leave them writing, or terminate them when it closes.
 */
export async function replayLoads<L extends ReplayLoad>(loads: readonly L[], options: ReplayLoadsOptions<L>): Promise<ReplayReport<L>> {
  const limit = options.concurrency ?? 4;
  const stop = (options.afterFailure ?? 'stop') === 'stop';
  const released = options.released ?? 'abandon';
  const failFast = stop && patched(failFastReplaysPatch);
  const dates = [...new Set(loads.map((l) => l.businessDate))].sort();
  const report: ReplayReport<L> = { dates, loaded: [], failed: [], notStarted: [], stopped: false };
  const parentId = workflowInfo().workflowId;
  const childId = patched(oneChildIdShapePatch) ? (load: L) => childWorkflowId(parentId, load.table, load.businessDate) : options.releasedChildId;
  const replay = (load: L) => {
    const input = options.input(load);
    const child = executeChild(loadTable, { workflowId: childId(load), args: [input], staticSummary: loadTableSummary(load.table, load.businessDate, input.archived !== undefined), ...loadTableChildAttributes(load.table, load.businessDate) });
    // A side branch: the chain the caller awaits is the child's own, not delayed by a tick.
    const settled = () => options.onSettled?.(load);
    child.then(settled, settled);
    return child;
  };

  for (const businessDate of dates) {
    const ofDate = loads.filter((l) => l.businessDate === businessDate);
    if (failFast && report.failed.length > 0) {
      report.notStarted.push(...ofDate);
      continue;
    }
    if (stop && !failFast && released === 'abandon') {
      const failure = await replayDateAsReleased(ofDate, limit, replay, report);
      if (failure) {
        report.failed.push(failure);
        report.notStarted.push(...loads.filter((l) => l.businessDate > businessDate));
        return report;
      }
      continue;
    }
    const outcomes = await runLanes(ofDate, limit, replay, { stopAfterFailure: failFast });
    outcomes.forEach((outcome, i) => {
      const load = ofDate[i]!;
      if (outcome.status === 'fulfilled') report.loaded.push({ load, result: outcome.value });
      else if (outcome.status === 'rejected') report.failed.push({ load, error: outcome.reason });
      else report.notStarted.push(load);
    });
    report.stopped = failFast && report.failed.length > 0;
  }
  return report;
}

/**
 * One date as the released incident and manual rollback replayed it (histories without the
 * patch): the first failure answers at once, and the date's other lanes go on starting children.
 */
async function replayDateAsReleased<L extends ReplayLoad>(ofDate: L[], limit: number, replay: (load: L) => Promise<LoadTableResult>, report: ReplayReport<L>): Promise<{ load: L; error: unknown } | undefined> {
  let failedLoad: L | undefined;
  try {
    const results = await mapWithConcurrency(ofDate, limit, async (load) => {
      try {
        return await replay(load);
      } catch (error) {
        failedLoad ??= load;
        throw error;
      }
    });
    results.forEach((result, i) => report.loaded.push({ load: ofDate[i]!, result }));
    return undefined;
  } catch (error) {
    return { load: failedLoad!, error };
  }
}
