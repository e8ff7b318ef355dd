import { log } from '@temporalio/activity';
import { whileHeartbeating } from './keep-alive.ts';
import { etlFailure } from '../common/errors.ts';
import { contractFor } from '../contracts/index.ts';
import type { D1Client } from '../d1/client.ts';
import { controlSql, createControlStore } from './control-store.ts';
import { currentDigestIndex } from '../history/current-digest.ts';
import { scd2MergeStatements } from '../history/merge.ts';

/** What publishing needs. */
export interface PublishDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first'>;
}

/** Which staged load to publish. */
export interface PublishInput {
  table: string;
  businessDate: string;
  loadId: string;
  fileName: string;
}

/** The versions the merge wrote. */
export interface PublishResult {
  versionsInserted: number;
  versionsClosed: number;
  tombstones: number;
}

/**
 * publish: the set-based SCD2 merge from stage into history, with the control rows
 * (etl_loads, etl_watermarks) in the same batch. The merge starts by reverting
 * whatever this load id wrote before, so a retry after a lost response is exact.
 */
export const createPublishActivities = (deps: PublishDeps) => ({
  publishLoad(input: PublishInput): Promise<PublishResult> {
    return whileHeartbeating(async () => {
      const contract = contractFor(input.table);
      const store = createControlStore(deps.d1);
      const loadedThrough = await store.loads.beginPublish(input.loadId, input.table);
      if (loadedThrough && loadedThrough > input.businessDate) {
        throw etlFailure('OutOfOrderLoad', `the table is already loaded through ${loadedThrough}; an earlier day needs a re-check (rewind and replay), not a load on top`, {
          table: input.table,
          businessDate: input.businessDate,
          file: input.fileName,
        });
      }

      const merge = scd2MergeStatements({ contract, loadId: input.loadId, businessDate: input.businessDate });
      const now = new Date().toISOString();
      const results = await deps.d1.batch([
        ...merge.map(({ sql, params }) => ({ sql, params })),
        // Built once the first load's rows are in, kept up to date by every merge after.
        ...(contract.mode === 'full' ? [{ sql: currentDigestIndex(contract) }] : []),
        controlSql.loads.recordVersionsStatement(input.loadId, contract.table),
        controlSql.loads.markStatusStatement(input.loadId, 'published'),
        controlSql.watermarks.advanceWatermarkStatement({ table: input.table, businessDate: input.businessDate, loadId: input.loadId, now }),
      ]);

      const changed = (effect: string) => merge.reduce((sum, s, i) => sum + (s.effect === effect ? (results[i]?.meta.changes ?? 0) : 0), 0);
      const result = { versionsInserted: changed('inserted') + changed('tombstoned'), versionsClosed: changed('closed'), tombstones: changed('tombstoned') };
      log.info('load published', { table: input.table, businessDate: input.businessDate, loadId: input.loadId, ...result });
      return result;
    });
  },
});
