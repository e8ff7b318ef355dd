import { QueryNotRegisteredError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { loadStepQuery, type TableProgress } from '../workflows/messages.ts';
import { nightlyWorkflowId, progressQuery, type NightProgress } from '../workflows/index.ts';
import { UserError } from './cli-support.ts';
import { formatTable } from './format-table.ts';

/**
 * Asks nightly-<date> where it stands (its `progress` query: per table, the stage reached,
 * rows, waiting for what), and each table it is `loading` its child's step (`loadStep`). A date
 * with no run, or a run from before the query, is a one-line refusal.
 */
export async function readNightProgress(client: Client, businessDate: string): Promise<NightProgress> {
  const workflowId = nightlyWorkflowId(businessDate);
  let night: NightProgress;
  try {
    night = await client.workflow.getHandle(workflowId).query(progressQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new UserError(`no nightly run for ${businessDate} (${workflowId}); start it with: warehouse run --date ${businessDate}`);
    if (error instanceof QueryNotRegisteredError) throw new UserError(`${workflowId} was started by a release without progress; see warehouse status --date ${businessDate}`);
    throw error;
  }
  return { ...night, tables: await Promise.all(night.tables.map((line) => withChildStep(client, line))) };
}

/** Steps a `loadTable` answers for itself. */
const childSteps = new Set<string>(['fetch', 'validate', 'stage', 'publish', 'verify']);

/**
 * A `loading` line with the step its child answers. A child that cannot answer (it ended
 * between the two queries, no worker runs) leaves the night's line as it is.
 */
async function withChildStep(client: Client, line: TableProgress): Promise<TableProgress> {
  if (line.stage !== 'loading' || !line.workflowId) return line;
  const answer: unknown = await client.workflow.getHandle(line.workflowId).query(loadStepQuery).catch(() => undefined);
  return mergedStep(line, answer);
}

/**
 * The night's `loading` line with its child's answer, when the answer is a step it can give
 * (a known step, whole rows, a text it waits for); anything else leaves the line as it is. Pure.
 */
export function mergedStep(line: TableProgress, answer: unknown): TableProgress {
  if (typeof answer !== 'object' || answer === null) return line;
  const { stage, rows, waitingFor } = answer as Record<string, unknown>;
  if (typeof stage !== 'string' || !childSteps.has(stage)) return line;
  if (rows !== undefined && !(Number.isSafeInteger(rows) && (rows as number) >= 0)) return line;
  if (waitingFor !== undefined && typeof waitingFor !== 'string') return line;
  const { table, workflowId } = line;
  return { table, stage: stage as TableProgress['stage'], ...(rows !== undefined ? { rows: rows as number } : {}), ...(waitingFor !== undefined ? { waitingFor: waitingFor as string } : {}), ...(workflowId ? { workflowId } : {}) };
}

/** A night's progress as the operator reads it: one line for the night, one row per table. */
export function formatNightProgress(progress: NightProgress): string {
  const head = `night ${progress.businessDate}: ${progress.phase}${progress.waitingFor ? `: ${progress.waitingFor}` : ''}`;
  const rows = progress.tables.map((t) => [t.table, t.stage, t.rows ?? '', t.waitingFor ?? t.detail ?? '']);
  return `${head}\n${formatTable(['table', 'stage', 'rows', 'waiting for / detail'], rows)}`;
}
