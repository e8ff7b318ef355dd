import { log } from '@temporalio/activity';
import { contractFor } from '../contracts/index.ts';
import type { D1Client } from '../d1/client.ts';
import type { RunOutcome } from '../common/control-statuses.ts';
import { backfillLoadId } from '../history/backfill.ts';
import { clearStageStatements, revertLoadStatements } from '../history/revert.ts';
import { controlSql, createControlStore } from './control-store.ts';
import { unfetchedLoadId } from './nas.ts';
import { applyMigrations } from './schema.ts';

/** What the run bookkeeping needs. */
export interface RunDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first' | 'scalar' | 'bookmark'>;
}

/** A nightly run starting. */
export interface BeginRunInput {
  runId: string;
  workflowId: string;
  businessDate: string;
  tablesTotal: number;
}

/** A backfill starting (or started again): its run id, the dump's as-of date and tables. */
export interface BeginBackfillRunInput {
  runId: string;
  workflowId: string;
  asOf: string;
  tables: string[];
}

/** A nightly run ending, with its per-table outcome. */
export interface FinishRunInput {
  runId: string;
  status: RunOutcome;
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
export const createRunActivities = (deps: RunDeps) => {
  const store = createControlStore(deps.d1);
  return {
    /** Applies pending schema migrations, takes the bookmark the run can be rolled back to, records the run. */
    async beginRun(input: BeginRunInput): Promise<{ bookmark: string }> {
      await applyMigrations(deps.d1);
      const bookmark = await deps.d1.bookmark();
      await store.runs.begin({ ...input, bookmark });
      log.info('nightly run begun', { runId: input.runId, businessDate: input.businessDate, bookmark });
      return { bookmark };
    },

    /**
     * Like beginRun, for a backfill: the bookmark it may be undone to is the one taken before its
     * first import. Once any of its import files has landed (a re-run of a finished backfill, a
     * resumed one), the bookmark recorded then is kept; a bookmark taken now would hold every
     * imported row. Before that (a first start, or a start again after a bad dump was reverted),
     * a new one is taken.
     */
    async beginBackfillRun(input: BeginBackfillRunInput): Promise<{ bookmark: string; kept: boolean }> {
      await applyMigrations(deps.d1);
      const imported = await store.backfillChunks.rowsImported(input.tables.map((table) => backfillLoadId(input.asOf, table)));
      const recorded = imported > 0 ? await store.runs.bookmarkOf(input.runId) : undefined;
      if (recorded) {
        await store.runs.restart(input.runId);
        log.info('backfill run begun again; its bookmark from before the first import is kept', { runId: input.runId, bookmark: recorded, rowsImported: imported });
        return { bookmark: recorded, kept: true };
      }
      const bookmark = await deps.d1.bookmark();
      await store.runs.begin({ runId: input.runId, workflowId: input.workflowId, businessDate: input.asOf, tablesTotal: input.tables.length, bookmark });
      log.info('backfill run begun', { runId: input.runId, asOf: input.asOf, bookmark });
      return { bookmark, kept: false };
    },

    /** Records the run's end and its summary. */
    async finishRun(input: FinishRunInput): Promise<void> {
      await store.runs.finish(input);
    },

    /** Records a failed load (with its stable error type and detail) in etl_loads. */
    async recordLoadFailure(input: LoadFailureInput): Promise<void> {
      const loadId = input.loadId ?? unfetchedLoadId(input.businessDate, input.table);
      await store.loads.recordFailure({
        loadId,
        runId: input.runId,
        table: input.table,
        businessDate: input.businessDate,
        fileName: input.fileName ?? null,
        sha256: input.sha256 ?? null,
        status: input.reverted ? 'reverted' : 'failed',
        errorType: input.errorType,
        errorDetail: input.errorDetail,
      });
    },

    /** Compensation: deletes the versions a load inserted and reopens those it closed. */
    async revertLoad(input: { table: string; loadId: string }): Promise<void> {
      const contract = contractFor(input.table);
      await deps.d1.batch([
        ...revertLoadStatements(contract, input.loadId),
        ...clearStageStatements(contract, input.loadId),
        // The watermark goes back to the table's last verified load, if this load had moved it.
        ...controlSql.watermarks.fallBackWatermarkStatements({ table: input.table, revertedLoadId: input.loadId, now: new Date().toISOString() }),
      ]);
      log.warn('load reverted', input);
    },
  };
};
