import { executeChild, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { businessDateKey, etlStatusKey } from '../common/search-attributes.ts';
import { shortActivity } from './activity-profiles.ts';
import { mapWithConcurrency } from './concurrency.ts';
import { describeFailure } from './failures.ts';
import { withWarehouseLease } from './lease-holder.ts';
import { loadTable } from './load-table.ts';

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

/** The workflow id of a re-check of a date. */
export const recheckWorkflowId = (businessDate: string) => `recheck-${businessDate}`;

/**
 * Late corrections (T-1 re-check): for each table whose export of `businessDate` in the
 * inbox differs from the file loaded, rewind the table to before that day (by load ids)
 * and replay it, then every later day it had loaded, in date order. History is a pure
 * function of the ordered files, so the result equals a clean run over the corrected
 * files. A replayed day that fails opens its incident as usual; the days after it are
 * then held back by that incident, not lost. Holds the warehouse lease shared.
 */
export async function recheck(input: RecheckInput): Promise<RecheckResult> {
  const { workflowId } = workflowInfo();
  upsertSearchAttributes([
    { key: businessDateKey, value: input.businessDate },
    { key: etlStatusKey, value: 'recheck-running' },
  ]);
  // Run by a nightly, it writes under the nightly's lease (asking again could queue it behind a restore waiting for that nightly).
  if (workflowInfo().parent) return recheckDay(input, workflowId);
  return withWarehouseLease('shared', { resumeStatus: 'recheck-running' }, () => recheckDay(input, workflowId));
}

/** The re-check's writing: rewind and replay each changed table (under the warehouse lease). */
async function recheckDay(input: RecheckInput, workflowId: string): Promise<RecheckResult> {
  const changed = await changedExports({ fromDate: input.businessDate, toDate: input.businessDate, ...(input.tables ? { tables: input.tables } : {}) });
  const result: RecheckResult = { businessDate: input.businessDate, rechecked: [], skipped: [] };

  await mapWithConcurrency(changed, 4, async ({ table }) => {
    const open = await openIncidentFor({ table });
    if (open) {
      result.skipped.push({ table, reason: `incident ${open.incidentId} is open for ${table}: its repair replays the table` });
      return;
    }
    const { rewound } = await rewindTable({ table, fromDate: input.businessDate });
    const dates = [...new Set([input.businessDate, ...rewound])].sort();
    const replayed: ReplayedDay[] = [];
    for (const businessDate of dates) {
      try {
        const loaded = await executeChild(loadTable, { workflowId: `${workflowId}-${table}-${businessDate}`, args: [{ table, businessDate, runId: workflowId }] });
        replayed.push({ businessDate, status: loaded.status });
      } catch (error) {
        const failure = describeFailure(error);
        replayed.push({ businessDate, status: 'failed', errorType: failure.type, message: failure.message });
      }
    }
    result.rechecked.push({ table, replayed });
  });

  result.rechecked.sort((a, b) => a.table.localeCompare(b.table));
  const failed = result.rechecked.some((t) => t.replayed.some((d) => d.status === 'failed'));
  upsertSearchAttributes([{ key: etlStatusKey, value: failed ? 'recheck-failed' : 'recheck-done' }]);
  return result;
}
