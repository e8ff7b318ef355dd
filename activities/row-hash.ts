import { hash } from 'node:crypto';
import { hashedValues } from '../contracts/hashed-values.ts';
import type { TableContract } from '../contracts/types.ts';
import type { NormalisedRow } from './row-validator.ts';

/**
 * The hash of a row's normalised business columns: what makes an unchanged row a
 * no-op. Columns in contract order, unit-separated. Which values, and in which form, is
 * contracts/hashed-values.ts, shared with `warehouse checksum`: a column added later
 * (`addedIn`) is left out while NULL, a widened decimal hashes at its first scale
 * (`hashScale`) when that loses nothing, so a migrated contract opens no spurious version.
 * Once the file carries a value in the added column the hash changes and the row gets a new
 * version: the old one keeps saying what the earlier files said (history stays a function of
 * the archived files, and revert-by-load stays exact).
 * Contracts with neither field hash exactly as before.
 * (`crypto.hash`, the one-shot form of createHash/update/digest: the same digest, half the time.)
 */
export function rowHash(contract: TableContract, row: NormalisedRow): string {
  return hash('sha256', hashedValues(contract, row).join('\u001f')).slice(0, 32);
}
