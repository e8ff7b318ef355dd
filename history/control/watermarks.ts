import type { ControlStatement } from './statement.ts';

/**
 * etl_watermarks: per table, the last business date loaded and the load that moved it there.
 * It moves forward once per load (`advanceWatermark`, the one upsert) and back only when
 * loads are undone, to the table's last verified load. Pure builders.
 */

/** The watermark moves to a load's business date; never backwards (an earlier date leaves it as it is). */
export function advanceWatermarkStatement(input: { table: string; businessDate: string; loadId: string; now: string }): ControlStatement {
  return {
    sql: `INSERT INTO etl_watermarks (table_name, business_date, load_id, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (table_name) DO UPDATE SET business_date = excluded.business_date, load_id = excluded.load_id, updated_at = excluded.updated_at
                WHERE excluded.business_date >= etl_watermarks.business_date`,
    params: [input.table, input.businessDate, input.loadId, input.now],
  };
}

/**
 * The watermark goes back to the table's last verified load matching `which`: other than a
 * reverted load (only if that load had moved it), or before a date a rewind starts from.
 */
export function fallBackWatermarkStatements(input: { table: string; now: string } & ({ revertedLoadId: string } | { beforeDate: string })): ControlStatement[] {
  if ('revertedLoadId' in input) {
    return [
      { sql: 'DELETE FROM etl_watermarks WHERE table_name = ? AND load_id = ?', params: [input.table, input.revertedLoadId] },
      {
        sql: `INSERT INTO etl_watermarks (table_name, business_date, load_id, updated_at)
              SELECT table_name, business_date, load_id, ? FROM etl_loads
              WHERE table_name = ? AND status = 'verified' AND load_id <> ? AND NOT EXISTS (SELECT 1 FROM etl_watermarks WHERE table_name = ?)
              ORDER BY business_date DESC LIMIT 1`,
        params: [input.now, input.table, input.revertedLoadId, input.table],
      },
    ];
  }
  return [
    { sql: 'DELETE FROM etl_watermarks WHERE table_name = ?', params: [input.table] },
    {
      sql: `INSERT INTO etl_watermarks (table_name, business_date, load_id, updated_at)
              SELECT table_name, business_date, load_id, ? FROM etl_loads WHERE table_name = ? AND status = 'verified' AND business_date < ?
              ORDER BY business_date DESC LIMIT 1`,
      params: [input.now, input.table, input.beforeDate],
    },
  ];
}

/** A table's watermark date (no row: never loaded). */
export function watermarkQuery(table: string): ControlStatement {
  return { sql: 'SELECT business_date FROM etl_watermarks WHERE table_name = ?', params: [table] };
}

/** The load that moved a table's watermark (no row: never loaded): the load whose file the table holds, with the digest of its key index. */
export function watermarkLoadQuery(table: string): ControlStatement {
  return {
    sql: 'SELECT w.load_id, l.key_index_sha256 FROM etl_watermarks w LEFT JOIN etl_loads l ON l.load_id = w.load_id WHERE w.table_name = ?',
    params: [table],
  };
}

/** Every table's watermark date. */
export function watermarksQuery(): ControlStatement {
  return { sql: 'SELECT table_name, business_date FROM etl_watermarks', params: [] };
}

/** How many tables are loaded through a date or later. */
export function tablesLoadedThroughQuery(businessDate: string): ControlStatement {
  return { sql: 'SELECT count(*) AS n FROM etl_watermarks WHERE business_date >= ?', params: [businessDate] };
}

/** SQL expression: the watermark date of a table named by a literal, for a report's reference date. */
export function watermarkDateSql(table: string): string {
  return `(SELECT business_date FROM etl_watermarks WHERE table_name = '${table.replace(/'/g, "''")}')`;
}
