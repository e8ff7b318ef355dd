import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import iconv from 'iconv-lite';
import { dumpFileName, dumpManifestHeader, dumpManifestName } from '../contracts/dump.ts';
import { tableContracts } from '../contracts/index.ts';
import { addDays, daysBetween, frenchDate } from './calendar.ts';
import { CsvWriter, type CsvValue } from './csv.ts';
import { LatestVersions } from './latest-versions.ts';
import { TableTracker, type DayTruth, type GeneratorEvent, type TableTruth } from './truth.ts';
import { World } from './world.ts';

/**
 * generateDump: Sodiwin's historical dump, as it would be handed over once before the
 * nightly exports take over. The same simulation as generateExports, run from `from` to the
 * as-of date `to`; what is written is the state on the as-of date: for a full table its
 * rows that day, for a delta table the latest version of every row it ever had (every
 * order since the ERP started, with its final status). Several files per table
 * (`COMMANDES_20251231_P001.csv`, …, at most `partRows` rows each), Sodiwin's dialect, a
 * manifest `MANIFEST_DUMP_<yyyymmdd>.csv` and the ground truth in `.truth/dump.json`.
 */

export interface DumpOptions {
  outDir: string;
  /** The first day the ERP ran. */
  from: string;
  /** The as-of date of the dump (inclusive). */
  to: string;
  scale?: number;
  seed?: number;
  /** Rows per file at most (default 1,000,000). */
  partRows?: number;
}

/** One file of the dump. */
export interface DumpFile {
  table: string;
  file: string;
  rows: number;
  sha256: string;
}

export interface DumpSummary {
  outDir: string;
  from: string;
  asOf: string;
  days: number;
  files: DumpFile[];
  /** Rows per table in the dump. */
  rows: Record<string, number>;
  orderLines: number;
  bytes: number;
  /** What the warehouse must hold once the dump is loaded: each table's current state on the as-of date. */
  truth: DayTruth;
}

export { dumpFileName, dumpManifestName } from '../contracts/dump.ts';

export async function generateDump(options: DumpOptions): Promise<DumpSummary> {
  const scale = options.scale ?? 1;
  const seed = options.seed ?? 1;
  const partRows = options.partRows ?? 1_000_000;
  const days = daysBetween(options.from, options.to) + 1;
  if (!Number.isInteger(days) || days < 1) throw new Error(`the dump must end on or after its first day: ${options.from} … ${options.to}`);
  if (!Number.isInteger(partRows) || partRows < 1) throw new Error(`partRows must be a positive whole number, got ${partRows}`);
  await mkdir(join(options.outDir, '.truth'), { recursive: true });

  const world = new World({ seed, scale, from: options.from });
  const trackers = new Map(tableContracts.map((c) => [c.table, new TableTracker(c)]));
  // Delta tables: the latest version of every key ever written (spooled under .truth while
  // the days run). Full tables: the as-of day's rows.
  const latest = new Map(tableContracts.filter((c) => c.mode === 'delta').map((c) => [c.table, new LatestVersions(join(options.outDir, '.truth', `${c.table}.spool.jsonl`), c)]));
  try {
    return await simulateAndWrite();
  } finally {
    for (const versions of latest.values()) versions.discard(); // a failed run leaves no spool behind
  }

  async function simulateAndWrite(): Promise<DumpSummary> {
    const asOfRows = new Map<string, readonly (readonly CsvValue[])[]>();
    const tables: Record<string, TableTruth> = {};
    const events: GeneratorEvent[] = [];

    for (let day = 0; day < days; day++) {
      const date = addDays(options.from, day);
      events.push(...world.step(date, day));
      const last = day === days - 1;
      for (const contract of tableContracts) {
        const { rows, isNew } = world.rows(contract.table);
        const tracker = trackers.get(contract.table)!;
        const versions = latest.get(contract.table);
        if (versions) {
          let index = 0;
          for (const values of rows) {
            tracker.record(values, isNew ? isNew(index) : true);
            versions.add(values);
            index++;
          }
          if (last) tables[contract.table] = tracker.endDay();
          else tracker.skipDay();
        } else if (last) {
          const snapshot = [...rows]; // some tables' rows are generated lazily: read them once
          for (const values of snapshot) tracker.record(values, true);
          tables[contract.table] = tracker.endDay();
          asOfRows.set(contract.table, snapshot);
        }
      }
    }

    const files: DumpFile[] = [];
    const rowCounts: Record<string, number> = {};
    let bytes = 0;
    for (const contract of tableContracts) {
      const rows: AsyncIterable<readonly CsvValue[]> | Iterable<readonly CsvValue[]> = latest.get(contract.table)?.rows() ?? asOfRows.get(contract.table) ?? [];
      let part: { file: string; writer: CsvWriter } | undefined;
      let parts = 0;
      let tableRows = 0;
      const closePart = async () => {
        const { file, writer } = part!;
        writer.close();
        bytes += writer.bytes;
        tableRows += writer.rows;
        files.push({ table: contract.table, file, rows: writer.rows, sha256: await sha256Of(join(options.outDir, file)) });
        part = undefined;
      };
      const openPart = () => {
        const file = dumpFileName(contract, options.to, ++parts);
        return { file, writer: new CsvWriter(join(options.outDir, file), contract) };
      };
      for await (const values of rows) {
        part ??= openPart();
        part.writer.write(values);
        if (part.writer.rows === partRows) await closePart();
      }
      if (part || parts === 0) {
        part ??= openPart(); // a table with no rows still gets its file, header only
        await closePart();
      }
      rowCounts[contract.table] = tableRows;
    }

    const manifest = [dumpManifestHeader.join(';'), ...files.map((f) => `${f.file};${f.table};${f.rows};${f.sha256};${frenchDate(options.to)}`)];
    await writeFile(join(options.outDir, dumpManifestName(options.to)), iconv.encode(`${manifest.join('\r\n')}\r\n`, 'win1252'));
    const truth: DayTruth = { businessDate: options.to, tables, events };
    await writeFile(join(options.outDir, '.truth', 'dump.json'), `${JSON.stringify({ ...truth, files }, null, 2)}\n`);
    return { outDir: options.outDir, from: options.from, asOf: options.to, days, files, rows: rowCounts, orderLines: rowCounts.order_lines ?? 0, bytes, truth };
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
