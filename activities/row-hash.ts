import { createHash } from 'node:crypto';
import type { ColumnContract, TableContract } from '../contracts/types.ts';
import { canonicalValue, type BusinessValue } from '../contracts/row-schema.ts';
import type { NormalisedRow } from './row-validator.ts';

/**
 * The hash of a row's normalised business columns: what makes an unchanged row a
 * no-op and what `warehouse checksum` folds. Columns in contract order, unit-separated.
 *
 * The hash must survive a contract that evolves (history/contract-diff.ts), or the first
 * load after a migration would open a new version of every row:
 * - a column added later (`addedIn`) is left out while it is NULL, so a row whose new
 *   column is empty hashes as it did before the column existed. Once the file carries a
 *   value there, the hash changes and the row gets a new version: the warehouse learnt
 *   something it did not hold, and the old version keeps saying what the earlier files said
 *   (history stays a function of the archived files, and revert-by-load stays exact).
 * - a decimal whose scale was widened hashes at its first scale (`hashScale`) when the
 *   value has no more decimals than that scale (so `1.50` stays `1.50`), and at the new
 *   scale otherwise (`1.505`); the two forms never collide.
 * Contracts with neither field hash exactly as before.
 */
export function rowHash(contract: TableContract, row: NormalisedRow): string {
  const parts: string[] = [];
  for (const c of contract.columns) {
    const value = row[c.name] ?? null;
    if (value === null && c.addedIn !== undefined) continue;
    parts.push(hashValue(c, value));
  }
  return createHash('sha256').update(parts.join('\u001f')).digest('hex').slice(0, 32);
}

/** One value's text in the hash: canonical, at the decimal's first scale when that loses nothing. */
function hashValue(column: ColumnContract, value: BusinessValue): string {
  const type = column.type;
  if (type.kind === 'decimal' && type.hashScale !== undefined && value !== null) {
    const first = canonicalValue({ ...type, scale: type.hashScale }, value);
    if (Number(first) === Number(canonicalValue(type, value))) return first;
  }
  return canonicalValue(type, value);
}
