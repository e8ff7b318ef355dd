import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tableContracts } from '../contracts/index.ts';
import { exportFileName } from '../contracts/types.ts';
import { addDays } from './calendar.ts';
import { CsvWriter } from './csv.ts';
import { ReportTruthRecorder, writeReportTruth } from './report-truth.ts';
import { TableTracker, truthPath, type DayTruth, type GeneratorEvent, type TableTruth } from './truth.ts';
import { World } from './world.ts';

/**
 * generateExports: a deterministic simulation of Sodimo's Sodiwin exports. For each
 * business date it writes one file per contract (Windows-1252, `;`, CRLF, decimal comma),
 * `.truth/<date>.json`, the ground truth the warehouse must reproduce, and
 * `.truth/reports/<date>.json`, what the reader reports must answer (generator/report-truth.ts).
 */

export interface GenerateOptions {
  outDir: string;
  /** First business date, `YYYY-MM-DD`. */
  from: string;
  days: number;
  /** Transactions grow linearly with the scale, master data with its square root. Default 1. */
  scale?: number;
  /** Same seed, same bytes. Default 1. */
  seed?: number;
}

export interface GenerateSummary {
  outDir: string;
  truthDir: string;
  from: string;
  to: string;
  days: number;
  scale: number;
  seed: number;
  files: number;
  bytes: number;
  /** Data rows per table over the whole period (warehouse table names, load order). */
  rows: Record<string, number>;
  /** Order lines over the whole period. */
  orderLines: number;
  events: GeneratorEvent[];
}

export async function generateExports(options: GenerateOptions): Promise<GenerateSummary> {
  const scale = options.scale ?? 1;
  const seed = options.seed ?? 1;
  if (!Number.isInteger(options.days) || options.days < 1) throw new Error(`days must be a positive integer, got ${options.days}`);
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`scale must be a positive number, got ${scale}`);
  const truthDir = join(options.outDir, '.truth');
  await mkdir(truthDir, { recursive: true });

  const world = new World({ seed, scale, from: options.from });
  const trackers = tableContracts.map((contract) => new TableTracker(contract));
  const reports = new ReportTruthRecorder();
  const rows: Record<string, number> = Object.fromEntries(tableContracts.map((c) => [c.table, 0]));
  const events: GeneratorEvent[] = [];
  let files = 0;
  let bytes = 0;
  let date = options.from;

  for (let day = 0; day < options.days; day++, date = addDays(options.from, day)) {
    events.push(...world.step(date, day));
    const tables: Record<string, TableTruth> = {};
    for (const tracker of trackers) {
      const { contract } = tracker;
      const writer = new CsvWriter(join(options.outDir, exportFileName(contract, date)), contract);
      try {
        const { rows: tableRows, isNew } = world.rows(contract.table);
        let index = 0;
        for (const values of tableRows) {
          writer.write(values);
          tracker.record(values, isNew ? isNew(index) : true);
          index++;
        }
      } finally {
        writer.close();
      }
      files++;
      bytes += writer.bytes;
      rows[contract.table]! += writer.rows;
      tables[contract.table] = tracker.endDay();
    }
    const truth: DayTruth = { businessDate: date, tables, events: [...events] };
    await writeFile(truthPath(options.outDir, date), `${JSON.stringify(truth, null, 2)}\n`);
    await writeReportTruth(options.outDir, reports.observe(world, date));
  }

  return {
    outDir: options.outDir,
    truthDir,
    from: options.from,
    to: addDays(options.from, options.days - 1),
    days: options.days,
    scale,
    seed,
    files,
    bytes,
    rows,
    orderLines: rows.order_lines ?? 0,
    events,
  };
}
