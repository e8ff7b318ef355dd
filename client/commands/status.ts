import type { Command } from 'commander';
import { tableContracts } from '../../contracts/index.ts';
import { createD1Client } from '../../d1/client.ts';
import type { Config } from '../../worker/config.ts';
import { UserError } from '../cli-support.ts';
import { formatTable } from '../format-table.ts';
import { isIsoDate } from './run.ts';

interface LoadRow {
  table_name: string;
  business_date: string;
  status: string;
  rows_read: number | null;
  rows_rejected: number | null;
  versions_inserted: number | null;
  versions_closed: number | null;
  error_type: string | null;
  error_detail: string | null;
  finished_at: string | null;
  watermark: string | null;
}

/** `warehouse status [--date D] [--json]`: per table, the last load (or that date's) and the watermark. */
export function registerStatus(program: Command, loadConfig: () => Config): void {
  program
    .command('status')
    .description('per-table status: last business date loaded, last load result and counts')
    .option('--date <YYYY-MM-DD>', "that business date's loads instead of the latest")
    .option('--json', 'print as JSON')
    .action(async (options: { date?: string; json?: boolean }) => {
      if (options.date && !isIsoDate(options.date)) throw new UserError(`--date must be YYYY-MM-DD, got "${options.date}"`);
      const d1 = createD1Client(loadConfig().d1);
      const [schema] = await d1.query<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'etl_loads'");
      if (!schema?.results[0]?.n) throw new UserError('the warehouse has no control schema yet: no nightly run has started (try `warehouse run --date YYYY-MM-DD`)');
      // The latest load per table (by business date, then by finish time), or that date's.
      const [result] = await d1.query<LoadRow>(
        `WITH ranked AS (
           SELECT l.*, row_number() OVER (PARTITION BY table_name ORDER BY business_date DESC, coalesce(finished_at, started_at) DESC) AS rn
           FROM etl_loads l WHERE (?1 IS NULL OR business_date = ?1))
         SELECT r.table_name, r.business_date, r.status, r.rows_read, r.rows_rejected, r.versions_inserted, r.versions_closed,
                r.error_type, r.error_detail, r.finished_at, w.business_date AS watermark
         FROM ranked r LEFT JOIN etl_watermarks w ON w.table_name = r.table_name WHERE r.rn = 1`,
        [options.date ?? null],
      );
      const byTable = new Map((result?.results ?? []).map((r) => [r.table_name, r]));
      const rows = tableContracts.map((c) => byTable.get(c.table) ?? ({ table_name: c.table, status: 'never loaded' } as LoadRow));
      if (options.json) return console.log(JSON.stringify(rows, null, 2));
      console.log(
        formatTable(
          ['table', 'loaded through', 'last date', 'result', 'rows', 'rejected', '+versions', 'closed', 'problem'],
          rows.map((r) => [r.table_name, r.watermark ?? '', r.business_date ?? '', r.status, r.rows_read, r.rows_rejected, r.versions_inserted, r.versions_closed, r.error_type ? `${r.error_type}: ${(r.error_detail ?? '').slice(0, 80)}` : '']),
        ),
      );
    });
}
