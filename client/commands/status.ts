import type { Command } from 'commander';
import { tableContracts } from '../../contracts/index.ts';
import type { Config } from '../../worker/config.ts';
import { UserError } from '../cli-support.ts';
import { formatTable } from '../format-table.ts';
import { createReadD1Client } from '../read-d1.ts';
import { daysBetween } from '../../common/business-dates.ts';
import { incidentHoldsTable, tablesHeldBy } from '../../history/incident-tables.ts';
import { expectedLoadedThrough } from '../../common/zoned-time.ts';
import { isIsoDate } from './run.ts';

/** How far back `--check` looks for days a table skipped. */
const gapWindowDays = 31;

/**
 * The days, within the last month, that some table loaded and this one did not, with no open
 * incident holding it back: the watermark alone would hide a day skipped in the middle.
 */
async function unaccountedDays(d1: ReturnType<typeof createReadD1Client>, expected: string): Promise<{ table_name: string; business_date: string }[]> {
  const [gaps] = await d1.query<{ table_name: string; business_date: string }>(
    `WITH tables(table_name) AS (VALUES ${tableContracts.map(() => '(?)').join(', ')}),
       nights AS (SELECT DISTINCT business_date FROM etl_loads WHERE status = 'verified' AND business_date > date(?, '-${gapWindowDays} days') AND business_date <= ?)
     SELECT t.table_name, n.business_date FROM tables t CROSS JOIN nights n
     WHERE NOT EXISTS (SELECT 1 FROM etl_loads l WHERE l.table_name = t.table_name AND l.business_date = n.business_date AND l.status = 'verified')
       AND NOT EXISTS (SELECT 1 FROM etl_incidents i WHERE ${incidentHoldsTable('i', 't.table_name')} AND i.status IN ('open', 'approved') AND i.business_date <= n.business_date)
     ORDER BY n.business_date, t.table_name`,
    [...tableContracts.map((c) => c.table), expected, expected],
  );
  return gaps?.results ?? [];
}

/** After the export deadline, the time a night's loads are given before `--check` calls a table stale. */
const loadGraceMs = 30 * 60_000;


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

/**
 * `warehouse status [--date D] [--json] [--check]`: per table, the last load (or that
 * date's), the watermark, how many days it trails what should be loaded by now, and the
 * open incident. `--check` exits 2 when a table is stale or an incident is open, for cron
 * or a monitor to page on.
 */
export function registerStatus(program: Command, loadConfig: () => Config): void {
  program
    .command('status')
    .description('per-table status: last business date loaded, lag, last load result and counts, open incident')
    .option('--date <YYYY-MM-DD>', "that business date's loads instead of the latest")
    .option('--json', 'print as JSON')
    .option('--check', 'exit 2 when a table is not loaded through the expected date (yesterday, once the export deadline has passed), skipped a day the others loaded, or an incident is open')
    .option('--max-lag-days <n>', 'with --check: days a table may trail the expected date', '0')
    .action(async (options: { date?: string; json?: boolean; check?: boolean; maxLagDays: string }) => {
      if (options.date && !isIsoDate(options.date)) throw new UserError(`--date must be YYYY-MM-DD, got "${options.date}"`);
      const maxLag = Number(options.maxLagDays);
      if (!Number.isInteger(maxLag) || maxLag < 0) throw new UserError(`--max-lag-days must be a whole number of days, got "${options.maxLagDays}"`);
      const config = loadConfig();
      const d1 = createReadD1Client(config);
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
      const [incidents] = await d1.query<{ incident_id: string; table_name: string; tables_json: string | null }>("SELECT incident_id, table_name, tables_json FROM etl_incidents WHERE status IN ('open', 'approved') ORDER BY business_date");
      // A night incident holds each of its tables (a table's latest open incident is the one shown).
      const openIncident = new Map((incidents?.results ?? []).flatMap((i) => tablesHeldBy(i).map((table) => [table, i.incident_id] as const)));
      const expected = expectedLoadedThrough(new Date(), config.load.exportDeadline.timeOfDay, config.load.exportDeadline.timeZone, loadGraceMs);
      const byTable = new Map((result?.results ?? []).map((r) => [r.table_name, r]));
      const rows = tableContracts.map((c) => {
        const row = byTable.get(c.table) ?? ({ table_name: c.table, status: 'never loaded', watermark: null } as LoadRow);
        return { ...row, lag_days: row.watermark ? Math.max(0, daysBetween(row.watermark, expected)) : null, open_incident: openIncident.get(c.table) ?? null };
      });
      const gaps = await unaccountedDays(d1, expected);
      const problems = [
        ...gaps.map((g) => `${g.table_name} has no verified load for ${g.business_date}, a night the other tables loaded, and no open incident holds it back`),
        ...rows.filter((r) => r.lag_days === null || r.lag_days > maxLag).map((r) => (r.watermark ? `${r.table_name} is loaded through ${r.watermark}, ${r.lag_days} day(s) behind ${expected}` : `${r.table_name} was never loaded`)),
        ...(incidents?.results ?? []).map((i) => `incident ${i.incident_id} is open (warehouse incidents)`),
      ];
      if (options.check && problems.length > 0) process.exitCode = 2;
      if (options.json) return console.log(JSON.stringify(options.check ? { expected, ok: problems.length === 0, problems, tables: rows } : rows, null, 2));
      console.log(
        formatTable(
          ['table', 'loaded through', 'lag', 'last date', 'result', 'rows', 'rejected', '+versions', 'closed', 'incident', 'problem'],
          rows.map((r) => [r.table_name, r.watermark ?? '', r.lag_days, r.business_date ?? '', r.status, r.rows_read, r.rows_rejected, r.versions_inserted, r.versions_closed, r.open_incident ?? '', r.error_type ? `${r.error_type}: ${(r.error_detail ?? '').slice(0, 80)}` : '']),
        ),
      );
      if (!options.check) return;
      if (problems.length === 0) console.log(`check ok: every table is loaded through ${expected} or later, no open incident, no day skipped in the last ${gapWindowDays}`);
      else for (const problem of problems) console.log(`CHECK FAILED: ${problem}`);
    });
}
