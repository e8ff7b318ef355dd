import { ApplicationFailure, executeChild, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { businessDateKey, etlStatusKey } from '../common/search-attributes.ts';
import { tableContracts } from '../contracts/index.ts';
import { shortActivity } from './activity-profiles.ts';
import { describeFailure } from './failures.ts';
import { loadTable, type LoadTableResult } from './load-table.ts';
import { mapWithConcurrency } from './concurrency.ts';

const { beginRun, finishRun } = proxyActivities<Activities>(shortActivity);

/** A night to load: the business date, and optionally a subset of tables. */
export interface NightlyRunInput {
  businessDate: string;
  tables?: string[];
  /** Tables loaded at once (default 4). */
  maxParallel?: number;
  /** Who may approve a rollback if a table's load opens an incident. */
  approvers?: string[];
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
}

/**
 * The nightly run: take a Time Travel bookmark, load every table in a child
 * `loadTable` (bounded fan-out), then record the summary. One table failing
 * never stops the others.
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

  const { bookmark } = await beginRun({ runId, workflowId, businessDate, tablesTotal: tables.length });
  const outcomes = await mapWithConcurrency(tables, input.maxParallel ?? 4, async (table): Promise<TableOutcome> => {
    try {
      return await executeChild(loadTable, { workflowId: `${workflowId}-${table}`, args: [{ table, businessDate, runId, approvers: input.approvers ?? [] }] });
    } catch (error) {
      const failure = describeFailure(error);
      return { table, businessDate, status: 'failed', errorType: failure.type, message: failure.message };
    }
  });

  const failed = outcomes.filter((o) => o.status === 'failed').length;
  const deferred = outcomes.filter((o) => o.status === 'deferred').length;
  const status = failed === outcomes.length ? 'failed' : failed + deferred === 0 ? 'ok' : 'partial';
  const summary: NightlySummary = { businessDate, runId, bookmark, status, tables: outcomes };
  await finishRun({ runId, status, tablesOk: outcomes.length - failed, tablesFailed: failed, summary });
  upsertSearchAttributes([{ key: etlStatusKey, value: status }]);
  return summary;
}
