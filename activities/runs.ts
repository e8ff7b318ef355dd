import { log } from '@temporalio/activity';
import { contractFor } from '../contracts/index.ts';
import type { D1Client } from '../d1/client.ts';
import { clearStageStatements, revertLoadStatements } from '../history/revert.ts';
import { unfetchedLoadId } from './nas.ts';
import { applyMigrations } from './schema.ts';

/** What the run bookkeeping needs. */
export interface RunDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'bookmark'>;
}

/** A nightly run starting. */
export interface BeginRunInput {
  runId: string;
  workflowId: string;
  businessDate: string;
  tablesTotal: number;
}

/** A nightly run ending, with its per-table outcome. */
export interface FinishRunInput {
  runId: string;
  status: 'ok' | 'partial' | 'failed';
  tablesOk: number;
  tablesFailed: number;
  summary: unknown;
}

/** A table's load that failed, to be recorded in etl_loads. */
export interface LoadFailureInput {
  runId: string;
  table: string;
  businessDate: string;
  loadId?: string;
  fileName?: string;
  sha256?: string;
  errorType: string;
  errorDetail: string;
  reverted: boolean;
}

/** Run bookkeeping: control schema, the Time Travel bookmark before the run, etl_runs, failures, revert-by-load. */
export const createRunActivities = (deps: RunDeps) => ({
  /** Applies pending schema migrations, takes the bookmark the run can be rolled back to, records the run. */
  async beginRun(input: BeginRunInput): Promise<{ bookmark: string }> {
    await applyMigrations(deps.d1);
    const bookmark = await deps.d1.bookmark();
    const now = new Date().toISOString();
    await deps.d1.batch([
      {
        sql: `INSERT INTO etl_runs (run_id, business_date, workflow_id, started_at, status, bookmark, tables_total) VALUES (?, ?, ?, ?, 'running', ?, ?)
              ON CONFLICT (run_id) DO UPDATE SET started_at = excluded.started_at, status = 'running', bookmark = excluded.bookmark`,
        params: [input.runId, input.businessDate, input.workflowId, now, bookmark, input.tablesTotal],
      },
      { sql: 'INSERT OR REPLACE INTO etl_bookmarks (run_id, business_date, bookmark, taken_at) VALUES (?, ?, ?, ?)', params: [input.runId, input.businessDate, bookmark, now] },
    ]);
    log.info('nightly run begun', { runId: input.runId, businessDate: input.businessDate, bookmark });
    return { bookmark };
  },

  /** Records the run's end and its summary. */
  async finishRun(input: FinishRunInput): Promise<void> {
    await deps.d1.query('UPDATE etl_runs SET finished_at = ?, status = ?, tables_ok = ?, tables_failed = ?, summary_json = ? WHERE run_id = ?', [
      new Date().toISOString(),
      input.status,
      input.tablesOk,
      input.tablesFailed,
      JSON.stringify(input.summary),
      input.runId,
    ]);
  },

  /** Records a failed load (with its stable error type and detail) in etl_loads. */
  async recordLoadFailure(input: LoadFailureInput): Promise<void> {
    const loadId = input.loadId ?? unfetchedLoadId(input.businessDate, input.table);
    await deps.d1.query(
      `INSERT INTO etl_loads (load_id, run_id, table_name, business_date, file_name, sha256, status, error_type, error_detail, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (load_id) DO UPDATE SET run_id = excluded.run_id, status = excluded.status, error_type = excluded.error_type,
         error_detail = excluded.error_detail, finished_at = excluded.finished_at`,
      [loadId, input.runId, input.table, input.businessDate, input.fileName ?? null, input.sha256 ?? null, input.reverted ? 'reverted' : 'failed', input.errorType, input.errorDetail, new Date().toISOString(), new Date().toISOString()],
    );
  },

  /** Compensation: deletes the versions a load inserted and reopens those it closed. */
  async revertLoad(input: { table: string; loadId: string }): Promise<void> {
    const contract = contractFor(input.table);
    await deps.d1.batch([
      ...revertLoadStatements(contract, input.loadId),
      ...clearStageStatements(contract, input.loadId),
      // The watermark goes back to the table's last verified load, if this load had moved it.
      { sql: 'DELETE FROM etl_watermarks WHERE table_name = ? AND load_id = ?', params: [input.table, input.loadId] },
      {
        sql: `INSERT INTO etl_watermarks (table_name, business_date, load_id, updated_at)
              SELECT table_name, business_date, load_id, ? FROM etl_loads
              WHERE table_name = ? AND status = 'verified' AND load_id <> ? AND NOT EXISTS (SELECT 1 FROM etl_watermarks WHERE table_name = ?)
              ORDER BY business_date DESC LIMIT 1`,
        params: [new Date().toISOString(), input.table, input.loadId, input.table],
      },
    ]);
    log.warn('load reverted', input);
  },
});
