import type { Command } from 'commander';
import { tableContracts } from '../../contracts/index.ts';
import type { Config } from '../../worker/config.ts';
import { UserError } from '../cli-support.ts';
import { formatTable } from '../format-table.ts';
import { createReadD1Client } from '../read-d1.ts';
import { daysBetween } from '../../common/business-dates.ts';
import { createControlStore, WarehouseNotMigrated, type ControlStore } from '../../activities/control-store.ts';
import type { LoadStatusRow } from '../../history/control/loads.ts';
import { expectedLoadedThrough } from '../../common/zoned-time.ts';
import { isIsoDate } from './run.ts';

/** How far back `--check` looks for days a table skipped. */
const gapWindowDays = 31;

/**
 * The days, within the last month, that some table loaded and this one did not, with no open
 * incident holding it back: the watermark alone would hide a day skipped in the middle.
 */
function unaccountedDays(store: ControlStore, expected: string): Promise<{ table_name: string; business_date: string }[]> {
  return store.incidents.unaccountedDays(tableContracts.map((c) => c.table), expected, gapWindowDays);
}

/** After the export deadline, the time a night's loads are given before `--check` calls a table stale. */
const loadGraceMs = 30 * 60_000;


type LoadRow = LoadStatusRow;

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
      const store = createControlStore(createReadD1Client(config));
      const expected = expectedLoadedThrough(new Date(), config.load.exportDeadline.timeOfDay, config.load.exportDeadline.timeZone, loadGraceMs);
      const readings = await readStatus(store, expected, options.date ?? null).catch((error: unknown) => {
        // A warehouse never migrated has loaded nothing: for a monitor that is "not healthy" (2), not an error.
        if (options.check && error instanceof WarehouseNotMigrated) return undefined;
        throw error;
      });
      if (!readings) return reportNothingLoaded(expected, `the warehouse has no control schema yet (never migrated; \`warehouse migrate\`, or start the worker)`, options.json ?? false);
      const { rows, gaps, incidents } = readings;
      if (options.check && rows.every((r) => r.watermark === null)) return reportNothingLoaded(expected, 'no table has ever been loaded (the first load is the backfill or `warehouse run --date D --wait`, docs/runbook.md)', options.json ?? false, rows);
      const problems = [
        ...gaps.map((g) => `${g.table_name} has no verified load for ${g.business_date}, a night the other tables loaded, and no open incident holds it back`),
        ...rows.filter((r) => r.lag_days === null || r.lag_days > maxLag).map((r) => (r.watermark ? `${r.table_name} is loaded through ${r.watermark}, ${r.lag_days} day(s) behind ${expected}` : `${r.table_name} was never loaded`)),
        ...incidents.map((i) => `incident ${i.incidentId} is open (warehouse incidents)`),
      ];
      // Tables behind the expected date that --max-lag-days allows: said as they are, never as "loaded through".
      const tolerated = rows.filter((r) => r.lag_days !== null && r.lag_days > 0 && r.lag_days <= maxLag);
      if (options.check && problems.length > 0) process.exitCode = 2;
      if (options.json) {
        const lagging = tolerated.map((r) => ({ table_name: r.table_name, watermark: r.watermark, lag_days: r.lag_days }));
        return console.log(JSON.stringify(options.check ? { expected, ok: problems.length === 0, problems, maxLagDays: maxLag, laggingWithinAllowed: lagging, tables: rows } : rows, null, 2));
      }
      console.log(
        formatTable(
          ['table', 'loaded through', 'lag', 'last date', 'result', 'rows', 'rejected', '+versions', 'closed', 'incident', 'problem'],
          rows.map((r) => [r.table_name, r.watermark ?? '', r.lag_days, r.business_date ?? '', r.status, r.rows_read, r.rows_rejected, r.versions_inserted, r.versions_closed, r.open_incident ?? '', r.error_type ? `${r.error_type}: ${(r.error_detail ?? '').slice(0, 80)}` : '']),
        ),
      );
      if (!options.check) return;
      if (problems.length > 0) {
        for (const problem of problems) console.log(`CHECK FAILED: ${problem}`);
        return;
      }
      for (const r of tolerated) console.log(`check ok: ${r.table_name} is loaded through ${r.watermark}, ${r.lag_days} day(s) behind ${expected}, within the ${maxLag} day(s) --max-lag-days allows`);
      const every = tolerated.length > 0 ? 'every other table' : 'every table';
      console.log(`check ok: ${every} is loaded through ${expected} or later, no open incident, no day skipped in the last ${gapWindowDays}`);
    });
}

/** What status shows: per table its latest load (or that date's) with lag and incident, the days skipped, the open incidents. */
async function readStatus(store: ControlStore, expected: string, businessDate: string | null = null) {
  // The latest load per table (by business date, then by finish time), or that date's.
  const latest = await store.loads.latestPerTable(businessDate);
  const incidents = await store.incidents.holdingAll();
  // A night incident holds each of its tables (a table's latest open incident is the one shown).
  const openIncident = new Map(incidents.flatMap((i) => i.tables.map((table) => [table, i.incidentId] as const)));
  const byTable = new Map(latest.map((r) => [r.table_name, r]));
  const rows = tableContracts.map((c) => {
    const row = byTable.get(c.table) ?? ({ table_name: c.table, status: 'never loaded', watermark: null } as LoadRow);
    return { ...row, lag_days: row.watermark ? Math.max(0, daysBetween(row.watermark, expected)) : null, open_incident: openIncident.get(c.table) ?? null };
  });
  return { rows, gaps: await unaccountedDays(store, expected), incidents };
}

/** `--check` on a warehouse that holds nothing yet: one line saying so, exit 2 (not healthy). */
function reportNothingLoaded(expected: string, why: string, json: boolean, tables: unknown[] = []): void {
  process.exitCode = 2;
  const problem = `nothing is loaded yet: ${why}`;
  if (json) console.log(JSON.stringify({ expected, ok: false, problems: [problem], tables }, null, 2));
  else console.log(`CHECK FAILED: ${problem}`);
}
