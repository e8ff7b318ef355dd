import { patched, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { businessDateKey, etlStatusKey } from '../common/search-attributes.ts';
import { shortActivity } from './activity-profiles.ts';
import { mapWithConcurrency, runLanes } from './concurrency.ts';
import { markEtlAttributes } from './etl-search-attributes.ts';
import { describeFailure } from './failures.ts';
import { withWarehouseLease } from './lease-holder.ts';
import { recheckProgressQuery, type RecheckProgress } from './messages.ts';
import { failFastReplaysPatch, replayLoads } from './replay-loads.ts';

const { changedExports, openIncidentFor, rewindTable } = proxyActivities<Activities>(shortActivity);

/** Re-check one earlier business date: every table, or some. */
export interface RecheckInput {
  businessDate: string;
  tables?: string[];
  /** Legacy (histories before signed approvals): ignored. */
  approvers?: string[];
}

/** One replayed day of a rechecked table. */
export interface ReplayedDay {
  businessDate: string;
  status: string;
  errorType?: string;
  message?: string;
}

/** What the re-check found and did. */
export interface RecheckResult {
  businessDate: string;
  /** Tables whose export of that date changed: rewound and replayed through their latest loaded day. */
  rechecked: { table: string; replayed: ReplayedDay[] }[];
  /** Tables left alone because an open incident already holds them (approve it first). */
  skipped: { table: string; reason: string }[];
}

/**
 * Late corrections (T-1 re-check): for each table whose export of `businessDate` in the
 * inbox differs from the file loaded, rewind the table to before that day (by load ids)
 * and replay it, then every later day it had loaded, in date order. History is a pure
 * function of the ordered files, so the result equals a clean run over the corrected
 * files. A replayed day that fails opens its incident as usual; the days after it are
 * then held back by that incident, not lost. Tables are re-checked four at a time; one whose
 * rewind cannot be done stops the others from starting (the running ones end first), and the
 * re-check fails. Holds the warehouse lease shared.
 */
export async function recheck(input: RecheckInput): Promise<RecheckResult> {
  const { workflowId } = workflowInfo();
  upsertSearchAttributes([
    { key: businessDateKey, value: input.businessDate },
    { key: etlStatusKey, value: 'recheck-running' },
  ]);
  // A re-check of one table is found by it too (of several, by its date).
  if (input.tables?.length === 1) markEtlAttributes({ table: input.tables[0]! });
  // Run by a nightly, it writes under the nightly's lease (asking again could queue it behind a restore waiting for that nightly).
  if (workflowInfo().parent) return recheckDay(input, workflowId);
  return withWarehouseLease('shared', { resumeStatus: 'recheck-running' }, () => recheckDay(input, workflowId));
}

/** The re-check's writing: rewind and replay each changed table (under the warehouse lease). */
async function recheckDay(input: RecheckInput, workflowId: string): Promise<RecheckResult> {
  const progress: RecheckProgress = { daysTotal: 0, daysReplayed: 0 };
  setHandler(recheckProgressQuery, () => progress);
  const changed = await changedExports({ fromDate: input.businessDate, toDate: input.businessDate, ...(input.tables ? { tables: input.tables } : {}) });
  const result: RecheckResult = { businessDate: input.businessDate, rechecked: [], skipped: [] };
  progress.tablesChanged = changed.map((c) => c.table);

  const recheckTable = async ({ table }: { table: string }) => {
    const open = await openIncidentFor({ table });
    if (open) {
      result.skipped.push({ table, reason: `incident ${open.incidentId} is open for ${table}: its repair replays the table` });
      return;
    }
    const { rewound } = await rewindTable({ table, fromDate: input.businessDate });
    const dates = [...new Set([input.businessDate, ...rewound])].sort();
    progress.daysTotal += dates.length;
    // Day after day, whatever fails: the days after a failed one are held back by the incident it opened.
    const report = await replayLoads(
      dates.map((businessDate) => ({ table, businessDate })),
      {
        releasedChildId: ({ businessDate }) => `${workflowId}-${table}-${businessDate}`,
        input: ({ businessDate }) => ({ table, businessDate, runId: workflowId }),
        concurrency: 1,
        afterFailure: 'continue',
        onSettled: () => (progress.daysReplayed += 1),
      },
    );
    const replayed = dates.map((businessDate): ReplayedDay => {
      const loaded = report.loaded.find((l) => l.load.businessDate === businessDate);
      if (loaded) return { businessDate, status: loaded.result.status };
      const failure = describeFailure(report.failed.find((f) => f.load.businessDate === businessDate)?.error);
      return { businessDate, status: 'failed', errorType: failure.type, message: failure.message };
    });
    result.rechecked.push({ table, replayed });
  };
  if (patched(failFastReplaysPatch)) {
    // Fail-fast: a table that cannot be rewound stops the others from starting; the running ones end before the re-check fails.
    const failed = (await runLanes(changed, 4, recheckTable, { stopAfterFailure: true })).find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
  } else {
    await mapWithConcurrency(changed, 4, recheckTable);
  }

  result.rechecked.sort((a, b) => a.table.localeCompare(b.table));
  const failed = result.rechecked.some((t) => t.replayed.some((d) => d.status === 'failed'));
  upsertSearchAttributes([{ key: etlStatusKey, value: failed ? 'recheck-failed' : 'recheck-done' }]);
  return result;
}
