import { formatDecimal } from '../common/decimal.ts';
import { canonicalValue, type BusinessValue } from './row-schema.ts';
import type { ColumnContract, TableContract } from './types.ts';

/**
 * The values of a row that its content is judged by: what activities/row-hash.ts hashes and
 * what `warehouse checksum` lists (history/checksum.ts), so the two cannot drift apart.
 * Canonical text, in contract order. Pure.
 *
 * Both must survive a contract that evolves (history/contract-diff.ts), or the first load
 * after a migration would open a new version of every row and every checksum would move:
 * - a column added later (`addedIn`) is left out while it is NULL, so a row whose new column
 *   is empty gives the values it gave before the column existed. Once it holds a value, the
 *   value is given as `name=value`, so two added columns each holding the same value in two
 *   rows (`a` in one, `b` in the other) do not read the same.
 * - a decimal whose scale was widened is given at its first scale (`hashScale`) when the
 *   value has no more decimals than that scale (so `1.50` stays `1.50`), and at the new scale
 *   otherwise (`1.505`); the two forms never collide.
 * Contracts with neither field give exactly the canonical values of every column.
 */
export function hashedValues(contract: TableContract, row: Readonly<Record<string, unknown>>): string[] {
  const values: string[] = [];
  for (const column of contract.columns) {
    const value = (row[column.name] ?? null) as BusinessValue;
    if (column.addedIn === undefined) values.push(hashedValue(column, value));
    else if (value !== null) values.push(`${column.name}=${hashedValue(column, value)}`);
  }
  return values;
}

/**
 * One value's canonical text, at the decimal's first scale when that loses nothing: units at
 * the widened scale that are a whole number of units at `hashScale` (15000 at scale 4 is 1.50
 * at scale 2) are given at `hashScale`. Exact (bigint arithmetic).
 */
function hashedValue(column: ColumnContract, value: BusinessValue): string {
  const type = column.type;
  if (type.kind === 'decimal' && type.hashScale !== undefined && value !== null) {
    const factor = 10n ** BigInt(type.scale - type.hashScale);
    const units = BigInt(value);
    if (units % factor === 0n) return formatDecimal(units / factor, type.hashScale);
  }
  return canonicalValue(type, value);
}
