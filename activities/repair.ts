import { log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { contractFor } from '../contracts/index.ts';
import type { D1Client } from '../d1/client.ts';
import { clearStageStatements, revertLoadStatements } from '../history/revert.ts';
import { controlSql, createControlStore } from './control-store.ts';

/** What the repair after an approved incident needs. */
export interface RepairDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first' | 'restore'>;
}

/** One table's load to replay, by business date. */
export interface ReplayItem {
  table: string;
  businessDate: string;
}

/**
 * The rollback half of an approved incident: per-table rewind by load ids, or a D1
 * Time Travel restore of the whole warehouse. Each returns what must be replayed.
 */
export const createRepairActivities = (deps: RepairDeps) => {
  const store = createControlStore(deps.d1);
  const replayItems = (loads: { table_name: string; business_date: string }[]): ReplayItem[] => loads.map((l) => ({ table: l.table_name, businessDate: l.business_date }));
  return {
    /**
     * rewind: reverts, newest first, every load of the table on or after the bad date
     * (normally none: later days were deferred), and moves its watermark back.
     */
    async rewindTable(input: { table: string; fromDate: string }): Promise<{ rewound: string[] }> {
      const contract = contractFor(input.table);
      const loads = await store.loads.writtenSince(input.table, input.fromDate);
      const rewound: string[] = [];
      for (const load of loads) {
        await deps.d1.batch([
          ...revertLoadStatements(contract, load.load_id),
          ...clearStageStatements(contract, load.load_id),
          controlSql.loads.markStatusStatement(load.load_id, 'rewound'),
        ]);
        rewound.push(load.business_date);
      }
      await deps.d1.batch(controlSql.watermarks.fallBackWatermarkStatements({ table: input.table, beforeDate: input.fromDate, now: new Date().toISOString() }));
      log.warn('table rewound', { table: input.table, fromDate: input.fromDate, rewound });
      return { rewound };
    },

    /** The verified loads on or after a date, all tables: what a whole-warehouse restore must replay. */
    async loadsSince(input: { fromDate: string }): Promise<ReplayItem[]> {
      return replayItems(await store.loads.replayedSince({ fromDate: input.fromDate }));
    },

    /** Legacy (histories before signed approvals): the bookmark taken before the nightly run of a date. */
    async bookmarkBefore(input: { businessDate: string }): Promise<string | undefined> {
      return (await store.bookmarks.ofDate(input.businessDate))?.bookmark;
    },

    /** The Time Travel bookmark taken before the nightly run of a date, and when it was taken. */
    async rollbackPointBefore(input: { businessDate: string }): Promise<{ bookmark: string; takenAt: string } | undefined> {
      const row = await store.bookmarks.ofDate(input.businessDate);
      return row ? { bookmark: row.bookmark, takenAt: row.taken_at } : undefined;
    },

    /** time-travel: restores the whole warehouse to a bookmark (everything after it is undone). */
    async restoreWarehouse(input: { bookmark: string }): Promise<void> {
      const result = await deps.d1.restore({ bookmark: input.bookmark });
      log.warn('warehouse restored', { bookmark: input.bookmark, previousBookmark: result.previousBookmark });
    },

    /**
     * For `warehouse rollback --to T`: the bookmark taken before the last nightly run that
     * started at or before T, and every load started since then (what the restore undoes).
     */
    async rollbackPoint(input: { instant: string }): Promise<{ bookmark: string; takenAt: string; replay: ReplayItem[] }> {
      const found = await store.bookmarks.atOrBefore(input.instant);
      if (!found) throw ApplicationFailure.create({ type: 'NoRollbackPoint', message: `no nightly run started at or before ${input.instant}: nothing to roll back to`, nonRetryable: true });
      return { bookmark: found.bookmark, takenAt: found.taken_at, replay: replayItems(await store.loads.replayedSince({ startedAt: found.taken_at })) };
    },

    /** Marks an incident resolved once its roll-forward has loaded every day. */
    async resolveIncident(input: { incidentId: string; replayed: string[] }): Promise<void> {
      await store.incidents.resolve(input.incidentId);
      log.info('incident resolved', input);
    },
  };
};
