import type { TableContract } from '../contracts/types.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';

/**
 * One page of a history table for `warehouse checksum`, by version id (keyset paging):
 * each version's content hash, validity and flags, never its load ids. Parameters:
 * the last version id seen, the page size.
 */
export function checksumPageSql(contract: TableContract): string {
  return `SELECT _version_id, _row_hash, _valid_from, _valid_to, _is_current, _is_deleted FROM ${q(contract.table)} WHERE _version_id > ? ORDER BY _version_id LIMIT ?`;
}

/** The text of one version in the checksum: the same history gives the same lines, whatever the load ids. */
export function checksumLine(row: Record<string, unknown>): string {
  return [row._row_hash, row._valid_from, row._valid_to ?? '', row._is_current, row._is_deleted].join('|');
}
