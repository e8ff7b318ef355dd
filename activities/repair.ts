import { log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { contractFor } from '../contracts/index.ts';
import type { D1Client } from '../d1/client.ts';
import { clearStageStatements, revertLoadStatements } from '../history/revert.ts';

/** What the repair after an approved incident needs. */
export interface RepairDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'restore'>;
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
export const createRepairActivities = (deps: RepairDeps) => ({
  /**
   * rewind: reverts, newest first, every load of the table on or after the bad date
   * (normally none: later days were deferred), and moves its watermark back.
   */
  async rewindTable(input: { table: string; fromDate: string }): Promise<{ rewound: string[] }> {
    const contract = contractFor(input.table);
    const [loads] = await deps.d1.query<{ load_id: string; business_date: string }>(
      "SELECT load_id, business_date FROM etl_loads WHERE table_name = ? AND business_date >= ? AND status IN ('verified', 'published', 'publishing') ORDER BY business_date DESC",
      [input.table, input.fromDate],
    );
    const rewound: string[] = [];
    for (const load of loads?.results ?? []) {
      await deps.d1.batch([
        ...revertLoadStatements(contract, load.load_id),
        ...clearStageStatements(contract, load.load_id),
        { sql: "UPDATE etl_loads SET status = 'rewound' WHERE load_id = ?", params: [load.load_id] },
      ]);
      rewound.push(load.business_date);
    }
    await deps.d1.batch([
      { sql: 'DELETE FROM etl_watermarks WHERE table_name = ?', params: [input.table] },
      {
        sql: `INSERT INTO etl_watermarks (table_name, business_date, load_id, updated_at)
              SELECT table_name, business_date, load_id, ? FROM etl_loads WHERE table_name = ? AND status = 'verified' AND business_date < ?
              ORDER BY business_date DESC LIMIT 1`,
        params: [new Date().toISOString(), input.table, input.fromDate],
      },
    ]);
    log.warn('table rewound', { table: input.table, fromDate: input.fromDate, rewound });
    return { rewound };
  },

  /** The verified loads on or after a date, all tables: what a whole-warehouse restore must replay. */
  async loadsSince(input: { fromDate: string }): Promise<ReplayItem[]> {
    const [loads] = await deps.d1.query<{ table_name: string; business_date: string }>(
      "SELECT DISTINCT table_name, business_date FROM etl_loads WHERE business_date >= ? AND status IN ('verified', 'deferred', 'quarantined') ORDER BY business_date, table_name",
      [input.fromDate],
    );
    return (loads?.results ?? []).map((l) => ({ table: l.table_name, businessDate: l.business_date }));
  },

  /** Legacy (histories before signed approvals): the bookmark taken before the nightly run of a date. */
  async bookmarkBefore(input: { businessDate: string }): Promise<string | undefined> {
    const [rows] = await deps.d1.query<{ bookmark: string }>('SELECT bookmark FROM etl_bookmarks WHERE business_date = ? ORDER BY taken_at LIMIT 1', [input.businessDate]);
    return rows?.results[0]?.bookmark;
  },

  /** The Time Travel bookmark taken before the nightly run of a date, and when it was taken. */
  async rollbackPointBefore(input: { businessDate: string }): Promise<{ bookmark: string; takenAt: string } | undefined> {
    const [rows] = await deps.d1.query<{ bookmark: string; taken_at: string }>('SELECT bookmark, taken_at FROM etl_bookmarks WHERE business_date = ? ORDER BY taken_at LIMIT 1', [input.businessDate]);
    const row = rows?.results[0];
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
    const [point] = await deps.d1.query<{ bookmark: string; taken_at: string }>('SELECT bookmark, taken_at FROM etl_bookmarks WHERE taken_at <= ? ORDER BY taken_at DESC LIMIT 1', [input.instant]);
    const found = point?.results[0];
    if (!found) throw ApplicationFailure.create({ type: 'NoRollbackPoint', message: `no nightly run started at or before ${input.instant}: nothing to roll back to`, nonRetryable: true });
    const [loads] = await deps.d1.query<{ table_name: string; business_date: string }>(
      "SELECT DISTINCT table_name, business_date FROM etl_loads WHERE started_at >= ? AND status IN ('verified', 'deferred', 'quarantined') ORDER BY business_date, table_name",
      [found.taken_at],
    );
    return { bookmark: found.bookmark, takenAt: found.taken_at, replay: (loads?.results ?? []).map((l) => ({ table: l.table_name, businessDate: l.business_date })) };
  },

  /** Marks an incident resolved once its roll-forward has loaded every day. */
  async resolveIncident(input: { incidentId: string; replayed: string[] }): Promise<void> {
    await deps.d1.query("UPDATE etl_incidents SET status = 'resolved', closed_at = ? WHERE incident_id = ?", [new Date().toISOString(), input.incidentId]);
    log.info('incident resolved', input);
  },
});
