import { ApplicationFailure } from '@temporalio/common';
import { formatDecimal } from '../common/decimal.ts';
import type { ColumnType } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';
import {
  addUnitsColumnSql, dropRealColumnSql, fillUnitsSql, inexactAmountSql, markConvertedStatement, moneyChunkRows, realDecimalColumnsSql, rowidRangeSql, unfilledCountSql,
} from '../history/money-units.ts';
import { unitsColumn } from '../history/stored-columns.ts';
import type { ViewDefinition } from '../history/ddl.ts';

type MoneyD1 = Pick<D1Client, 'query' | 'batch'>;

/** One recorded decimal column still stored as a REAL. */
interface RealColumn {
  table: string;
  column: string;
  scale: number;
}

/** What the conversion is given: the views to drop before a REAL column is (migrate creates them again), and the fill's range size. */
export interface MoneyMigrationOptions {
  views: readonly ViewDefinition[];
  chunkRows?: number;
  /** Told each column as its conversion starts (migrate's progress line). */
  onStep?: (step: string) => void;
}

/**
 * Runs migration 0006 (history/money-units.ts): every decimal column recorded as REAL becomes
 * `<name>_units` INTEGER in its history and stage tables, or a StoredAmountNotExact failure
 * names the table, the column, the version (or stage row), the value and the scale, before that
 * column is changed. Idempotent step by step: run again after an interruption it carries on
 * from where the database is. Returns the columns converted, as `table.column`.
 */
export async function convertMoneyToUnits(d1: MoneyD1, options: MoneyMigrationOptions): Promise<string[]> {
  const [rows] = await d1.query<{ table_name: string; column_name: string; type_json: string }>(realDecimalColumnsSql);
  const columns: RealColumn[] = (rows?.results ?? []).map((r) => ({ table: r.table_name, column: r.column_name, scale: (JSON.parse(r.type_json) as Extract<ColumnType, { kind: 'decimal' }>).scale }));
  const viewsDropped = { done: false };
  for (const [i, column] of columns.entries()) {
    options.onStep?.(`converting money to units: ${column.table}.${column.column} (${i + 1}/${columns.length})`);
    for (const [table, where] of [[column.table, '_version_id'], [`_stage_${column.table}`, "'load ' || _load_id || ' line ' || _line"]] as const) {
      await convertColumn(d1, { ...column, table, history: column.table, where }, options, viewsDropped);
    }
    await d1.batch([markConvertedStatement(column.table, column.column)]);
  }
  return columns.map((c) => `${c.table}.${c.column}`);
}

/** The columns a table has now (none if it does not exist). */
async function columnsOf(d1: MoneyD1, table: string): Promise<string[]> {
  const [info] = await d1.query<{ name: string }>(`PRAGMA table_info(${q(table)})`);
  return (info?.results ?? []).map((r) => r.name);
}

/** Runs a schema change unless it is already done (another process may have done it meanwhile). */
async function unlessDone(d1: MoneyD1, sql: string, done: () => Promise<boolean>): Promise<void> {
  if (await done()) return;
  try {
    await d1.query(sql);
  } catch (error) {
    if (!(await done())) throw error;
  }
}

async function convertColumn(
  d1: MoneyD1,
  target: RealColumn & { history: string; where: string },
  options: MoneyMigrationOptions,
  viewsDropped: { done: boolean },
): Promise<void> {
  const { table, column, scale } = target;
  const units = unitsColumn(column);
  if (!(await columnsOf(d1, table)).includes(column)) return; // converted already, or the table was created with units
  await unlessDone(d1, addUnitsColumnSql(table, column), async () => (await columnsOf(d1, table)).includes(units));

  const [range] = await d1.query<{ lo: number | null; hi: number | null }>(rowidRangeSql(table));
  const lo = range?.results[0]?.lo ?? null;
  const hi = range?.results[0]?.hi ?? null;
  const step = options.chunkRows ?? moneyChunkRows;
  if (lo !== null && hi !== null) {
    for (let from = lo - 1; from < hi; from += step) {
      const to = Math.min(from + step, hi);
      const [bad] = await d1.query<{ at: string | number; value: unknown }>(inexactAmountSql(table, column, scale, target.where), [from, to]);
      const found = bad?.results[0];
      if (found) {
        throw ApplicationFailure.create({
          type: 'StoredAmountNotExact',
          message: `${table}.${column}, ${typeof found.at === 'number' ? `version ${found.at}` : found.at}: the stored value ${String(found.value)} is not a whole number of units of ${formatDecimal(1, scale)} (scale ${scale}), so it cannot be stored exactly without rounding; the REAL column is kept as it is. Correct the value (it was not loaded by this warehouse's loader) and run warehouse migrate again.`,
          nonRetryable: true,
          details: [{ table, column, at: found.at, value: found.value, scale }],
        });
      }
      await d1.query(fillUnitsSql(table, column, scale), [from, to]);
    }
  }
  const [left] = await d1.query<{ n: number }>(unfilledCountSql(table, column));
  if ((left?.results[0]?.n ?? 0) > 0) throw new Error(`${table}.${column}: ${left?.results[0]?.n} values not yet in ${units} (rows written during the migration?); run warehouse migrate again`);

  if (!viewsDropped.done) {
    // SQLite checks every view when a column is dropped: the views reading the REAL go first (migrate creates them again after).
    await d1.batch(options.views.toReversed().map((v) => ({ sql: `DROP VIEW IF EXISTS ${q(v.name)}` })));
    viewsDropped.done = true;
  }
  await unlessDone(d1, dropRealColumnSql(table, column), async () => !(await columnsOf(d1, table)).includes(column));
}
