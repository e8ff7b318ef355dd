import { createControlStore } from '../../activities/control-store.ts';
import { decimalFromNumber, decimalText } from '../../common/decimal.ts';
import type { Command } from 'commander';
import type { D1Client } from '../../d1/client.ts';
import { reportColumns, reportDefinitions, reportFor, type ReportColumn, type ReportDefinition, type ReportOptions } from '../../history/reports.ts';
import type { Config } from '../../worker/config.ts';
import { UserError } from '../cli-support.ts';
import { formatTable } from '../format-table.ts';
import { createReadD1Client } from '../read-d1.ts';
import { isIsoDate } from './run.ts';

/** The command line's options of `warehouse report`. */
export interface ReportFlags {
  asOf?: string;
  from?: string;
  to?: string;
  customer?: string;
  byMonth?: boolean;
}

/** The reports as `--list` and `--help` show them. */
export function reportListing(): string {
  const width = Math.max(...reportDefinitions.map((r) => r.name.length));
  return reportDefinitions
    .map((r) => {
      const options = [r.period ? '[--from D] [--to D]' : '', r.customer === 'required' ? '--customer CODE' : r.customer === 'optional' ? '[--customer CODE]' : '', r.byMonth ? '[--by-month]' : ''].filter(Boolean).join(' ');
      return `  ${r.name.padEnd(width)}  ${r.summary}${options ? `\n  ${''.padEnd(width)}  ${options}; view ${r.view}` : `\n  ${''.padEnd(width)}  view ${r.view}`}`;
    })
    .join('\n');
}

/**
 * The report asked for and its options, or a UserError naming what is wrong: an unknown
 * report, a date that is not a real YYYY-MM-DD, a period upside down, an option the report
 * does not take, a missing --customer. Pure.
 */
export function parseReportRequest(name: string | undefined, flags: ReportFlags): { report: ReportDefinition; options: ReportOptions } {
  const names = reportDefinitions.map((r) => r.name).join(', ');
  if (!name) throw new UserError(`which report? the reports are ${names} (warehouse report --list)`);
  const report = reportFor(name);
  if (!report) throw new UserError(`unknown report "${name}"; the reports are ${names}`);
  for (const [flag, value] of [['--as-of', flags.asOf], ['--from', flags.from], ['--to', flags.to]] as const) {
    if (value !== undefined && !isIsoDate(value)) throw new UserError(`${flag} must be a real date as YYYY-MM-DD, got "${value}"`);
  }
  if (!report.period && (flags.from !== undefined || flags.to !== undefined)) throw new UserError(`report ${report.name} takes no period (--from/--to); use --as-of for a past date`);
  if (flags.from !== undefined && flags.to !== undefined && flags.from > flags.to) throw new UserError(`--from ${flags.from} is after --to ${flags.to}`);
  if (report.customer === 'none' && flags.customer !== undefined) throw new UserError(`report ${report.name} is not per customer (no --customer)`);
  if (report.customer === 'required' && !flags.customer) throw new UserError(`report ${report.name} needs --customer CODE`);
  if (!report.byMonth && flags.byMonth) throw new UserError(`report ${report.name} has no --by-month`);
  const options: ReportOptions = {};
  if (flags.asOf !== undefined) options.asOf = flags.asOf;
  if (flags.from !== undefined) options.from = flags.from;
  if (flags.to !== undefined) options.to = flags.to;
  if (flags.customer !== undefined) options.customer = flags.customer;
  if (flags.byMonth) options.byMonth = true;
  return { report, options };
}

/** Numbers as a reader expects them (money with 2 decimals, quantities with 3), right-aligned. */
function displayCells(columns: readonly ReportColumn[], rows: readonly (readonly unknown[])[]): unknown[][] {
  const decimals: Partial<Record<ReportColumn['kind'], number>> = { money: 2, quantity: 3 };
  const out = rows.map((r) => [...r]);
  for (const [i, column] of columns.entries()) {
    const scale = decimals[column.kind];
    if (scale === undefined) continue;
    const text = out.map((r) => (typeof r[i] === 'number' ? amountText(r[i] as number, scale) : ''));
    const width = Math.max(column.name.length, ...text.map((t) => t.length));
    for (const [n, r] of out.entries()) r[i] = text[n]!.padStart(width);
  }
  return out;
}

/** D1's number for a report's amount (an exact sum of units, divided once) as its text at `scale`, read by common/decimal.ts. */
function amountText(value: number, scale: number): string {
  const read = decimalFromNumber(value, scale);
  return read.ok ? decimalText(read.value) : String(value);
}

/** The last business date loaded for a table, or null; a UserError when no run ever started. */
async function loadedThrough(d1: D1Client, table: string): Promise<string | null> {
  return (await createControlStore(d1).watermarks.of(table)) ?? null;
}

function caption(report: ReportDefinition, options: ReportOptions, through: string | null): string {
  const state = options.asOf ? `as of ${options.asOf}, from history` : 'current state';
  const loaded = `${report.table} loaded through ${through ?? 'nothing yet'}`;
  const dates = `${report.name === 'payments' ? 'payment' : 'invoice'} dates`;
  const period = !report.period
    ? ''
    : options.from && options.to
      ? `; ${dates} ${options.from} to ${options.to}`
      : options.from
        ? `; ${dates} from ${options.from}`
        : options.to
          ? `; ${dates} through ${options.to}`
          : `; all ${dates}`;
  const customer = options.customer ? `; customer ${options.customer}` : '';
  const later = options.asOf && through && options.asOf > through ? ` (nothing after ${through} is loaded yet)` : '';
  return `${report.name}: ${report.summary}\n${state} (${loaded})${later}${period}${customer}`;
}

/** `warehouse report NAME [--as-of D] [--from D] [--to D] [--customer CODE] [--by-month] [--json]`: the reader reports of DESIGN §9. */
export function registerReport(program: Command, loadConfig: () => Config): void {
  program
    .command('report')
    .description('the reader reports (revenue, receivables aging, stock, order history, reorder forecast, outstanding invoices, payments), now or as of a past date')
    .argument('[name]', 'the report (see --list)')
    .option('--list', 'list the reports')
    .option('--as-of <YYYY-MM-DD>', 'answer from history as of that business date (default: the current state)')
    .option('--from <YYYY-MM-DD>', 'first day of the period, inclusive (revenue: invoice date, payments: payment date; default: no bound, i.e. all time)')
    .option('--to <YYYY-MM-DD>', 'last day of the period, inclusive (default: no bound)')
    .option('--customer <code>', 'one customer only (required by customer-orders)')
    .option('--by-month', 'revenue reports: one row per month of the invoice date')
    .option('--json', 'print as JSON')
    .addHelpText('after', `\nReports (definitions in docs/reports.md):\n${reportListing()}`)
    .action(async (name: string | undefined, flags: ReportFlags & { list?: boolean; json?: boolean }) => {
      if (flags.list) {
        if (flags.json) return console.log(JSON.stringify(reportDefinitions.map((r) => ({ name: r.name, summary: r.summary, view: r.view, columns: r.columns.map((c) => c.name) })), null, 2));
        return console.log(`Reports (warehouse report NAME [--as-of D] [--json]):\n${reportListing()}`);
      }
      const { report, options } = parseReportRequest(name, flags);
      const d1 = createReadD1Client(loadConfig());
      console.log(await runReport(d1, report, options, flags.json ?? false));
      // An answer from before anything was loaded is empty for want of data, not because the figures are zero.
      const nothing = await nothingLoaded(d1, report, options);
      if (nothing) {
        console.error(`warehouse: ${nothing}`);
        process.exitCode = 2;
      }
    });
}

/**
 * Why the report's answer holds nothing, when its table had nothing loaded on the date asked
 * (as of a date before its first load, or never loaded at all); undefined when it had.
 */
export async function nothingLoaded(d1: D1Client, report: ReportDefinition, options: ReportOptions): Promise<string | undefined> {
  const first = await createControlStore(d1).loads.firstVerifiedDate(report.table);
  if (!first) return `nothing is loaded yet: ${report.table} was never loaded, so ${report.name} has no answer${options.asOf ? ` as of ${options.asOf}` : ''} (warehouse status)`;
  if (options.asOf && options.asOf < first) return `nothing was loaded as of ${options.asOf}: the first date ${report.table} is loaded for is ${first}, so ${report.name} has no answer before it`;
  return undefined;
}

/** A row's empty code shown as what it means (`(no rep)`), for the text table only. */
function labelUnassigned(report: ReportDefinition, rows: readonly (readonly unknown[])[]): unknown[][] {
  return rows.map((r) => (report.unassigned && (r[0] === null || r[0] === '') ? [report.unassigned, ...r.slice(1)] : [...r]));
}

/** Runs one report on D1 and renders it: a caption, a readable table and the row count, or JSON. */
export async function runReport(d1: D1Client, report: ReportDefinition, options: ReportOptions, json: boolean): Promise<string> {
  const through = await loadedThrough(d1, report.table);
  const { sql, params } = report.build(options);
  const [result] = await d1.raw(sql, params).catch((error: unknown) => {
    const missing = /no such table: (?:main\.)?(\w+)/.exec(error instanceof Error ? error.message : '');
    if (missing) throw new UserError(`the warehouse has no ${missing[1]!.replace(/_current$/, '')} table yet: it was never loaded (warehouse status)`);
    throw error;
  });
  const columns = reportColumns(report, options);
  const rows = result?.rows ?? [];
  const names = result?.columns ?? columns.map((c) => c.name);
  if (json) {
    const objects = rows.map((r) => Object.fromEntries(names.map((c, i) => [c, r[i]])));
    return JSON.stringify({ report: report.name, asOf: options.asOf ?? null, loadedThrough: through, from: options.from ?? null, to: options.to ?? null, customer: options.customer ?? null, rows: objects }, null, 2);
  }
  return [caption(report, options, through), formatTable(names, displayCells(columns, labelUnassigned(report, rows))), `(${rows.length} row${rows.length === 1 ? '' : 's'})`].join('\n');
}
