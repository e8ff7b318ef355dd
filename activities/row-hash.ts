import { createHash } from 'node:crypto';
import type { TableContract } from '../contracts/types.ts';
import { canonicalValue } from '../contracts/row-schema.ts';
import type { NormalisedRow } from './row-validator.ts';

/**
 * The hash of a row's normalised business columns: what makes an unchanged row a
 * no-op and what `warehouse checksum` folds. Columns in contract order, unit-separated.
 */
export function rowHash(contract: TableContract, row: NormalisedRow): string {
  const text = contract.columns.map((c) => canonicalValue(c.type, row[c.name] ?? null)).join('\u001f');
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
