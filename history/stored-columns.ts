import type { ColumnContract, TableContract } from '../contracts/types.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';

/**
 * How a contract's business columns are stored in D1, and how readers see them. A decimal is
 * stored exactly, as an INTEGER of whole units of 10^-scale at the contract's scale, in a column
 * named `<name>_units` (1234.50 at scale 2 is 123450 in `amount_units`), so a `SUM` over it is an
 * exact integer and nobody reads cents as euros. The reader views (`<t>_current`, the reports)
 * present the decimal under its own name (`amount_units / 100.0 AS amount`) next to
 * `amount_units`. Every other column is stored under its name. Pure.
 */

/** The stored column of a decimal: `amount` → `amount_units`. */
export const unitsColumn = (name: string): string => `${name}_units`;

/** The name a column is stored under in the history and stage tables. */
export function storedName(column: ColumnContract): string {
  return column.type.kind === 'decimal' ? unitsColumn(column.name) : column.name;
}

/** The stored business columns of a contract, in contract order (unquoted). */
export function storedColumns(contract: TableContract): string[] {
  return contract.columns.map(storedName);
}

/** SQL: the decimal value of a units expression at `scale` (`x / 100.0`); a NULL stays NULL. */
export function unitsToDecimalSql(units: string, scale: number): string {
  return `${units} / ${10 ** scale}.0`;
}

/**
 * The select list that presents a contract's stored columns to readers: every column under its
 * warehouse name (a decimal as `amount_units / 100.0 AS amount`), and each decimal's
 * `<name>_units` as stored, for exact sums. `alias` qualifies the stored columns.
 */
export function presentedColumns(contract: TableContract, alias = ''): string[] {
  const p = alias ? `${alias}.` : '';
  return contract.columns.flatMap((c) => (c.type.kind === 'decimal'
    ? [`${unitsToDecimalSql(`${p}${q(unitsColumn(c.name))}`, c.type.scale)} AS ${q(c.name)}`, `${p}${q(unitsColumn(c.name))}`]
    : [`${p}${q(c.name)}`]));
}

/**
 * A row read with the stored column names (`amount_units`) keyed by warehouse names again, with
 * the stored values (units): the form contracts/hashed-values.ts and the normalised row use.
 */
export function fromStored(contract: TableContract, row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const c of contract.columns) {
    const stored = storedName(c);
    if (stored === c.name) continue;
    out[c.name] = row[stored] ?? null;
    delete out[stored];
  }
  return out;
}
