import { QueryNotRegisteredError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { nightlyWorkflowId, progressQuery, type NightProgress } from '../workflows/index.ts';
import { UserError } from './cli-support.ts';
import { formatTable } from './format-table.ts';

/**
 * Asks nightly-<date> where it stands (its `progress` query: per table, the stage reached,
 * rows, waiting for what). A date with no run, or a run from before the query, is a one-line refusal.
 */
export async function readNightProgress(client: Client, businessDate: string): Promise<NightProgress> {
  const workflowId = nightlyWorkflowId(businessDate);
  try {
    return await client.workflow.getHandle(workflowId).query(progressQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new UserError(`no nightly run for ${businessDate} (${workflowId}); start it with: warehouse run --date ${businessDate}`);
    if (error instanceof QueryNotRegisteredError) throw new UserError(`${workflowId} was started by a release without progress; see warehouse status --date ${businessDate}`);
    throw error;
  }
}

/** A night's progress as the operator reads it: one line for the night, one row per table. */
export function formatNightProgress(progress: NightProgress): string {
  const head = `night ${progress.businessDate}: ${progress.phase}${progress.waitingFor ? `: ${progress.waitingFor}` : ''}`;
  const rows = progress.tables.map((t) => [t.table, t.stage, t.rows ?? '', t.waitingFor ?? t.detail ?? '']);
  return `${head}\n${formatTable(['table', 'stage', 'rows', 'waiting for / detail'], rows)}`;
}
