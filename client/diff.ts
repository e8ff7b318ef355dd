import { canonicalValue, type BusinessValue } from '../contracts/row-schema.ts';
import type { TableContract } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import { historyDiffStatement, type DiffKind, type DiffRow } from '../history/diff.ts';

/** One column of a changed key: its value on each day, as the warehouse states values (`12.50`, `\N` for NULL). */
export interface ColumnChange {
  column: string;
  old: string;
  new: string;
}

/** What happened to one key between the two days. */
export interface KeyDiff {
  kind: DiffKind;
  /** The key's values, in the contract's key order. */
  key: string[];
  /** The business date of the (last) change. */
  on: string;
  /** For `changed`: only the columns that differ. For `added` and `tombstoned`: every column of the row that came or went. */
  columns: ColumnChange[];
}

/** A table's diff between two business dates. */
export interface TableDiff {
  table: string;
  from: string;
  to: string;
  counts: Record<DiffKind, number>;
  keys: KeyDiff[];
}

/**
 * `warehouse diff`: per key, what changed in a table between two business dates, from its
 * history. Values are compared and shown in their canonical text (the row hash's), so 12.5 and
 * 12.50 are one value.
 */
export async function tableDiff(d1: Pick<D1Client, 'query'>, input: { contract: TableContract; from: string; to: string; key?: string[] }): Promise<TableDiff> {
  const { contract } = input;
  const statement = historyDiffStatement(input);
  const [result] = await d1.query<DiffRow>(statement.sql, statement.params);
  const keys = (result?.results ?? []).map((row) => keyDiffOf(contract, row));
  const counts: Record<DiffKind, number> = { added: 0, changed: 0, tombstoned: 0 };
  for (const k of keys) counts[k.kind]++;
  return { table: contract.table, from: input.from, to: input.to, counts, keys };
}

/** A row of the diff query as the key's changes. */
function keyDiffOf(contract: TableContract, row: DiffRow): KeyDiff {
  const before = row.old_json ? (JSON.parse(row.old_json) as Record<string, BusinessValue>) : undefined;
  const after = row.new_json ? (JSON.parse(row.new_json) as Record<string, BusinessValue>) : undefined;
  const columns: ColumnChange[] = [];
  for (const column of contract.columns) {
    const old = before ? canonicalValue(column.type, before[column.name]) : '';
    const now = after ? canonicalValue(column.type, after[column.name]) : '';
    if (row.kind !== 'changed' || old !== now) columns.push({ column: column.name, old, new: now });
  }
  return { kind: row.kind, key: contract.key.map((k) => String(row[k])), on: row.changed_on, columns };
}

/** The diff as an operator reads it: a count line, then one line per key with what changed. */
export function formatTableDiff(diff: TableDiff): string {
  const { counts } = diff;
  const lines = [`${diff.table} from ${diff.from} to ${diff.to}: ${counts.added} added, ${counts.changed} changed, ${counts.tombstoned} tombstoned`];
  for (const k of diff.keys) {
    const what =
      k.kind === 'changed'
        ? k.columns.map((c) => `${c.column}: ${shown(c.old)} → ${shown(c.new)}`).join('; ')
        : k.columns
            .filter((c) => (k.kind === 'added' ? c.new : c.old) !== '\\N')
            .map((c) => `${c.column}=${shown(k.kind === 'added' ? c.new : c.old)}`)
            .join(' ');
    lines.push(`  ${k.kind.padEnd(10)} ${k.key.join(' | ')}  on ${k.on}  ${what}`);
  }
  return lines.join('\n');
}

/** A value in a diff line: NULL as `(empty)`, text with blanks quoted. */
function shown(value: string): string {
  if (value === '\\N') return '(empty)';
  return /\s|^$/.test(value) ? JSON.stringify(value) : value;
}
