import { hashedValues } from '../contracts/hashed-values.ts';
import type { TableContract } from '../contracts/types.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';
import { fromStored, storedColumns } from './stored-columns.ts';

/**
 * One page of a history table for `warehouse checksum`, by version id (keyset paging):
 * each version's business values as stored (a decimal as its `<name>_units`), its content hash, validity and flags,
 * never its load ids. Parameters: the last version id seen, the page size.
 */
export function checksumPageSql(contract: TableContract): string {
  const columns = storedColumns(contract).map((c) => q(c)).join(', ');
  return `SELECT _version_id, ${columns}, _row_hash, _valid_from, _valid_to, _is_current, _is_deleted FROM ${q(contract.table)} WHERE _version_id > ? ORDER BY _version_id LIMIT ?`;
}

/**
 * The text of one version in the checksum: the stored values (canonical: 123450 units at scale
 * 2 is `1234.50`, the text the REAL 1234.5 gave before amounts were stored as units, so a
 * checksum survives that migration), the row hash and the validity. The same history gives the same lines whatever
 * the load ids, and a value edited in D1 behind the loads' back changes the line.
 * The values are the row hash's (contracts/hashed-values.ts): a migration that adds an
 * `addedIn` column (NULL in every row before it) or widens a decimal (`hashScale`) leaves
 * every line, and so every checksum, as it was.
 */
export function checksumLine(contract: TableContract, row: Record<string, unknown>): string {
  const values = hashedValues(contract, fromStored(contract, row));
  return JSON.stringify([...values, row._row_hash, row._valid_from, row._valid_to ?? null, row._is_current, row._is_deleted]);
}
