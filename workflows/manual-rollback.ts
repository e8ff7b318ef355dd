import { ApplicationFailure, executeChild, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { etlStatusKey } from '../common/search-attributes.ts';
import { shortActivity } from './activity-profiles.ts';
import { mapWithConcurrency } from './concurrency.ts';
import { loadTable } from './load-table.ts';

const { rollbackPoint, restoreWarehouse } = proxyActivities<Activities>(shortActivity);

/** `warehouse rollback --to ISO-TIME --by NAME`. */
export interface ManualRollbackInput {
  /** Restore the warehouse as it was when the last nightly run started at or before this instant (ISO 8601). */
  to: string;
  by: string;
  approvers: string[];
}

/** What the manual rollback restored and replayed. */
export interface ManualRollbackResult {
  bookmark: string;
  /** When that bookmark was taken (the start of the nightly run it precedes). */
  takenAt: string;
  replayed: { table: string; businessDate: string }[];
}

/**
 * The whole-warehouse procedure by hand: restore D1 (Time Travel) to the bookmark taken
 * before the last nightly run that started at or before `to`, then roll forward through
 * every load made since, in date order. Only an approver may start it.
 */
export async function manualRollback(input: ManualRollbackInput): Promise<ManualRollbackResult> {
  if (!input.approvers.includes(input.by)) {
    throw ApplicationFailure.create({ type: 'NotAnApprover', message: `${input.by} is not an approver (approvers: ${input.approvers.join(', ')})`, nonRetryable: true });
  }
  const { workflowId } = workflowInfo();
  upsertSearchAttributes([{ key: etlStatusKey, value: 'rollback-running' }]);
  const { bookmark, takenAt, replay: replayed } = await rollbackPoint({ instant: input.to });
  await restoreWarehouse({ bookmark });
  const dates = [...new Set(replayed.map((r) => r.businessDate))].sort();
  for (const businessDate of dates) {
    const tables = replayed.filter((r) => r.businessDate === businessDate).map((r) => r.table);
    await mapWithConcurrency(tables, 4, (table) =>
      executeChild(loadTable, { workflowId: `${workflowId}-${businessDate}-${table}`, args: [{ table, businessDate, runId: workflowId, approvers: input.approvers }] }),
    );
  }
  upsertSearchAttributes([{ key: etlStatusKey, value: 'rollback-done' }]);
  return { bookmark, takenAt, replayed };
}
