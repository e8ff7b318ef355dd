import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TableContract } from '../contracts/types.ts';
import type { CsvValue } from './csv.ts';

/**
 * The ground truth the generator records beside its exports (`.truth/<date>.json`):
 * computed from the simulation's own state as it writes, never by reading the CSVs back
 * and never with warehouse code, so tests can hold the loader to it.
 */

/** Something that happened in the simulated company that the history must be able to tell. */
export type GeneratorEvent =
  | { type: 'price_list_changed'; date: string; customer_code: string; from: string; to: string }
  | { type: 'order_cancelled'; date: string; order_no: string; previous_status: string }
  | { type: 'customer_deleted'; date: string; customer_code: string }
  | { type: 'product_discontinued'; date: string; product_code: string };

export interface TableTruth {
  /** Data rows in that day's file. */
  fileRows: number;
  /** Per contract.controlTotals column: the sum over the file, e.g. `"1234.50"`. */
  fileTotals: Record<string, string>;
  /** What `<table>_current` must hold once every day up to this one is loaded. */
  current: { rows: number; keyDigest: string; totals: Record<string, string> };
}

export interface DayTruth {
  businessDate: string;
  tables: Record<string, TableTruth>;
  /** Every event from the first day through this one, in date order. */
  events: GeneratorEvent[];
}

/** The truth of one business date written by generateExports. */
export async function readTruth(outDir: string, date: string): Promise<DayTruth> {
  return JSON.parse(await readFile(truthPath(outDir, date), 'utf8')) as DayTruth;
}

export function truthPath(outDir: string, date: string): string {
  return join(outDir, '.truth', `${date}.json`);
}

/** A row's key as one string: the key columns' values (warehouse names, typed) joined by `|`. */
export function keyString(contract: TableContract, row: Record<string, unknown>): string {
  return contract.key.map((k) => String(row[k])).join('|');
}

/** sha256 (hex) of the keys sorted with the default JS sort and joined by newlines. */
export function keyDigest(keys: string[]): string {
  return digestSorted([...keys].sort());
}

function digestSorted(sorted: readonly string[]): string {
  const hash = createHash('sha256');
  const chunk = 10_000;
  for (let i = 0; i < sorted.length; i += chunk) {
    const part = sorted.slice(i, i + chunk).join('\n');
    hash.update(i === 0 ? part : `\n${part}`);
  }
  return hash.digest('hex');
}

/** A sum of scaled units as the truth writes it: 123450, 2 → `"1234.50"`; scale 0 → plain digits. */
export function formatTotal(units: number, scale: number): string {
  if (!Number.isSafeInteger(units)) throw new Error(`total out of safe range: ${units}`);
  const digits = String(Math.abs(units));
  const sign = units < 0 ? '-' : '';
  if (scale === 0) return sign + digits;
  const padded = digits.padStart(scale + 1, '0');
  return `${sign}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

/** Merges two sorted, duplicate-free key lists; a key in both is a generator bug. */
function mergeSorted(a: string[], b: string[], table: string): string[] {
  if (b.length === 0) return a;
  const out = new Array<string>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! < b[j]!) out[k++] = a[i++]!;
    else if (a[i]! > b[j]!) out[k++] = b[j++]!;
    else throw new Error(`${table}: key ${a[i]} written as new twice`);
  }
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

function hasSorted(sorted: readonly string[], key: string): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo] === key;
}

function assertUnique(sorted: readonly string[], table: string): void {
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) throw new Error(`${table}: duplicate key ${sorted[i]} in one file`);
}

/**
 * Follows one table across the days: the file of the day (rows, totals, keys) and the
 * warehouse's current state. For a delta table the caller says whether a row is new; a
 * changed row must keep its control-total values (the simulation never changes them).
 */
export class TableTracker {
  readonly contract: TableContract;
  private readonly keyIndexes: number[];
  private readonly totalIndexes: number[];
  private readonly totalScales: number[];
  private fileKeys: string[] = [];
  private fileTotals: number[];
  /** Delta tables: the keys of the current state, sorted, in two levels (see addToCurrent). */
  private currentKeys: string[] = [];
  private recentKeys: string[] = [];
  private currentTotals: number[];
  private fileRows = 0;
  /** Delta tables: keys of today's file already in the current state (changed rows). */
  private updatedKeys: string[] = [];

  constructor(contract: TableContract) {
    this.contract = contract;
    const index = (name: string) => {
      const i = contract.columns.findIndex((c) => c.name === name);
      if (i < 0) throw new Error(`${contract.table}: no column ${name}`);
      return i;
    };
    this.keyIndexes = contract.key.map(index);
    this.totalIndexes = contract.controlTotals.map(index);
    this.totalScales = this.totalIndexes.map((i) => {
      const type = contract.columns[i]!.type;
      return type.kind === 'decimal' ? type.scale : 0;
    });
    this.fileTotals = this.totalIndexes.map(() => 0);
    this.currentTotals = this.totalIndexes.map(() => 0);
  }

  /** Records a row written to today's file. */
  record(values: readonly CsvValue[], isNew: boolean): void {
    const row: Record<string, unknown> = {};
    for (const [n, i] of this.keyIndexes.entries()) row[this.contract.key[n]!] = values[i];
    const key = keyString(this.contract, row);
    if (this.contract.mode === 'delta' && !isNew) this.updatedKeys.push(key);
    else this.fileKeys.push(key);
    this.fileRows++;
    for (const [n, i] of this.totalIndexes.entries()) {
      const v = (values[i] as number | null) ?? 0;
      this.fileTotals[n]! += v;
      if (this.contract.mode === 'delta' && isNew) this.currentTotals[n]! += v;
    }
  }

  /** Closes the day: the table's truth, and resets the file counters. */
  endDay(): TableTruth {
    return this.closeDay(true)!;
  }

  /**
   * Closes the day with the same checks but without its truth, which costs a pass over
   * every current key: the dump generator needs the truth of its last day only.
   */
  skipDay(): void {
    this.closeDay(false);
  }

  private closeDay(withTruth: boolean): TableTruth | undefined {
    const { contract } = this;
    const fileSorted = this.fileKeys.sort();
    assertUnique(fileSorted, contract.table);
    if (contract.mode === 'delta') this.addToCurrent(fileSorted);
    let truth: TableTruth | undefined;
    if (withTruth) {
      if (contract.mode === 'delta') this.compactCurrent();
      const totals = (sums: number[]) => Object.fromEntries(contract.controlTotals.map((c, n) => [c, formatTotal(sums[n]!, this.totalScales[n]!)]));
      const current =
        contract.mode === 'full'
          ? { rows: fileSorted.length, keyDigest: digestSorted(fileSorted), totals: totals(this.fileTotals) }
          : { rows: this.currentKeys.length, keyDigest: digestSorted(this.currentKeys), totals: totals(this.currentTotals) };
      truth = { fileRows: this.fileRows, fileTotals: totals(this.fileTotals), current };
    }
    this.fileKeys = [];
    this.updatedKeys = [];
    this.fileRows = 0;
    this.fileTotals = this.totalIndexes.map(() => 0);
    return truth;
  }

  /** Delta tables: checks today's changed and new keys against the current state, then adds the new ones. */
  private addToCurrent(fileSorted: string[]): void {
    const { table } = this.contract;
    const isCurrent = (key: string) => hasSorted(this.currentKeys, key) || hasSorted(this.recentKeys, key);
    const updated = this.updatedKeys.sort();
    assertUnique(updated, table);
    for (const key of updated) if (!isCurrent(key)) throw new Error(`${table}: changed row ${key} was never written`);
    for (const key of fileSorted) {
      if (hasSorted(updated, key)) throw new Error(`${table}: key ${key} both new and changed in one file`);
      if (hasSorted(this.currentKeys, key)) throw new Error(`${table}: key ${key} written as new twice`);
    }
    this.recentKeys = mergeSorted(this.recentKeys, fileSorted, table);
    // Two sorted levels: a day's keys merge into the small one; it folds into the large one
    // only once it holds a tenth as many, so a year of days does not copy every key daily.
    if (this.recentKeys.length > 10_000 && this.recentKeys.length * 10 > this.currentKeys.length) this.compactCurrent();
  }

  /** Folds the recent keys into the current ones. */
  private compactCurrent(): void {
    this.currentKeys = mergeSorted(this.currentKeys, this.recentKeys, this.contract.table);
    this.recentKeys = [];
  }
}
