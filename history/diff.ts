import type { TableContract } from '../contracts/types.ts';
import type { D1Param } from '../d1/client.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';
import { asOfPredicate } from './reports.ts';
import { storedName } from './stored-columns.ts';

/** How a key's row differs between two business dates. */
export type DiffKind = 'added' | 'changed' | 'tombstoned';

/** Which table, between which two business dates, optionally for one key. */
export interface DiffInput {
  contract: TableContract;
  /** The earlier business date: the state as loaded through that day. */
  from: string;
  /** The later business date. */
  to: string;
  /** One key's values, in the contract's key order. */
  key?: readonly string[];
}

/** One row of the diff query: the kind, the key, both sides' business values as JSON objects (amounts in units), and the day it changed. */
export interface DiffRow {
  kind: DiffKind;
  old_json: string | null;
  new_json: string | null;
  /** The business date of the change: the new version's `_valid_from`, or the removed one's `_valid_to`. */
  changed_on: string;
  [key: string]: unknown;
}

/**
 * One statement answering "what changed in this table between two days", straight from
 * history (DESIGN §5): the live rows as of `from` and as of `to` (the version valid that day,
 * not deleted) joined by key. A key only on the later side was `added`; on both with another
 * row hash, `changed`; only on the earlier side, `tombstoned` (absent from a later snapshot,
 * or deleted). A key changed and changed back is the same on both days and not listed.
 * Rows come ordered by key. Pure.
 */
export function historyDiffStatement(input: DiffInput): { sql: string; params: D1Param[] } {
  const { contract } = input;
  const t = q(contract.table);
  if (input.key && input.key.length !== contract.key.length) throw new RangeError(`${contract.table}'s key has ${contract.key.length} column(s) (${contract.key.join(', ')}), got ${input.key.length} value(s)`);
  const params: D1Param[] = [];
  const side = (date: string) => {
    params.push(date, date, ...(input.key ?? []));
    const keyFilter = input.key ? contract.key.map((k) => ` AND ${q(k)} = ?`).join('') : '';
    return `SELECT * FROM ${t} WHERE ${asOfPredicate('?')} AND _is_deleted = 0${keyFilter}`;
  };
  const before = side(input.from);
  const after = side(input.to);
  const keyMatch = contract.key.map((k) => `a.${q(k)} = b.${q(k)}`).join(' AND ');
  // Keyed by the contract's column names, holding what is stored (an amount as its units).
  const json = (alias: string) => `json_object(${contract.columns.map((c) => `'${c.name}', ${alias}.${q(storedName(c))}`).join(', ')})`;
  const keys = (alias: string) => contract.key.map((k) => `${alias}.${q(k)} AS ${q(k)}`).join(', ');
  const sql = `WITH a AS (${before}), b AS (${after})
SELECT 'added' AS kind, ${keys('b')}, NULL AS old_json, ${json('b')} AS new_json, b._valid_from AS changed_on FROM b WHERE NOT EXISTS (SELECT 1 FROM a WHERE ${keyMatch})
UNION ALL
SELECT 'changed', ${keys('b')}, ${json('a')}, ${json('b')}, b._valid_from FROM a JOIN b ON ${keyMatch} WHERE a._row_hash <> b._row_hash
UNION ALL
SELECT 'tombstoned', ${keys('a')}, ${json('a')}, NULL, a._valid_to FROM a WHERE NOT EXISTS (SELECT 1 FROM b WHERE ${keyMatch})
ORDER BY ${contract.key.map((k) => q(k)).join(', ')}`;
  return { sql, params };
}
