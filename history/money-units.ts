import type { D1Statement } from '../d1/client.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';
import { unitsColumn } from './stored-columns.ts';

/**
 * Migration 0006, money stored exactly, as pure builders (activities/money-migration.ts runs
 * them). Before it, a decimal column was a REAL holding the double nearest the amount; after
 * it, an INTEGER `<name>_units` holding the amount in whole units of 10^-scale at the scale
 * recorded in etl_contract_columns (history/stored-columns.ts). Per recorded REAL column of
 * each history and stage table: add `<name>_units`; fill it from the REAL a range of rowids at
 * a time (each statement well inside D1's 30 s), refusing a REAL that is not a whole number of
 * units; drop the REAL (the views that read it dropped first, migrate creates them again);
 * record the column as INTEGER. Every step is idempotent, so a migrate interrupted part-way
 * finishes on the next run. The canonical text of every amount (`1234.50`) is unchanged, so
 * row hashes and `warehouse checksum` stay the same. Pure.
 */

/** The migration's name in d1_migrations. */
export const moneyUnitsMigrationName = '0006_money_units';

/** Rowids per fill statement: about a second of work for D1 at the widest table. */
export const moneyChunkRows = 100_000;

/** The decimal columns still stored as REAL, with the scale they were loaded at. */
export const realDecimalColumnsSql =
  "SELECT table_name, column_name, type_json FROM etl_contract_columns WHERE sql_type = 'REAL' AND json_extract(type_json, '$.kind') = 'decimal' ORDER BY table_name, position";

/** Adds the units column next to the REAL. */
export function addUnitsColumnSql(table: string, column: string): string {
  return `ALTER TABLE ${q(table)} ADD COLUMN ${q(unitsColumn(column))} INTEGER`;
}

/** The rowids of a table, to walk it in ranges (`lo`, `hi`; NULL when empty). */
export function rowidRangeSql(table: string): string {
  return `SELECT min(rowid) AS lo, max(rowid) AS hi FROM ${q(table)}`;
}

/** The REAL an amount at `scale` was loaded as is the double nearest `units / 10^scale`: `round(x × 10^s) / 10^s` gives it back. */
const factor = (scale: number) => `${10 ** scale}.0`;

/**
 * The first value in a rowid range (`?1` < rowid <= `?2`) that is not a whole number of units
 * at `scale`, or beyond 2^53 - 1 units (a double no longer tells neighbouring units apart), with
 * where it is: `where` is an SQL expression naming the row (the version id, or a stage row's load
 * and line). Such a value would be rounded by the fill: the migration refuses it instead.
 */
export function inexactAmountSql(table: string, column: string, scale: number, where: string): string {
  const x = q(column);
  return `SELECT ${where} AS at, ${x} AS value FROM ${q(table)} WHERE rowid > ?1 AND rowid <= ?2 AND ${x} IS NOT NULL
  AND (typeof(${x}) NOT IN ('real', 'integer') OR abs(${x}) > ${Number.MAX_SAFE_INTEGER} / ${factor(scale)} OR ${x} <> round(${x} * ${factor(scale)}) / ${factor(scale)}) LIMIT 1`;
}

/** Fills the units of a rowid range (`?1` < rowid <= `?2`) from the REAL; rows already filled are left alone. */
export function fillUnitsSql(table: string, column: string, scale: number): string {
  const x = q(column);
  const units = q(unitsColumn(column));
  return `UPDATE ${q(table)} SET ${units} = CAST(round(${x} * ${factor(scale)}) AS INTEGER) WHERE rowid > ?1 AND rowid <= ?2 AND ${x} IS NOT NULL AND ${units} IS NULL`;
}

/** Rows whose REAL holds a value and whose units do not: zero once the fill is complete. */
export function unfilledCountSql(table: string, column: string): string {
  return `SELECT count(*) AS n FROM ${q(table)} WHERE ${q(column)} IS NOT NULL AND ${q(unitsColumn(column))} IS NULL`;
}

/** Drops the REAL once every value is in the units column. */
export function dropRealColumnSql(table: string, column: string): string {
  return `ALTER TABLE ${q(table)} DROP COLUMN ${q(column)}`;
}

/** Records the column as stored in INTEGER units. */
export function markConvertedStatement(table: string, column: string): D1Statement {
  return { sql: "UPDATE etl_contract_columns SET sql_type = 'INTEGER' WHERE table_name = ? AND column_name = ?", params: [table, column] };
}
