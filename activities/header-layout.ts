import type { ColumnContract, TableContract } from '../contracts/types.ts';

/**
 * How a file's header row maps onto its contract: the header check of validate, and how the
 * export reader reads each field. Today's file has the contract's headers in its order. An
 * archived file replayed by a rewind or a rebuild may be older than the contract:
 * - a header Sodiwin has since renamed (listed in the column's `previousSources`) is read, by
 *   its position, as the same column;
 * - a column added later (`addedIn`) may be missing from a file whose business date is before
 *   `addedIn` (the file predates the column): it is read as NULL, which is what the rows loaded
 *   from that file hold, and what the row hash leaves out. From `addedIn` on, a file without
 *   it is refused like any missing column (Sodiwin dropped it: the warehouse must hear of it).
 * Pure.
 */

/** A header the contract accepts: per field of the file, the column it is read as. */
export interface HeaderLayout {
  ok: true;
  /** Per field of the file, in order, the column's current Sodiwin header (rows are keyed by it). */
  sources: string[];
  /** Warehouse names of the columns absent from this (older) file, read as NULL. */
  absent: string[];
}

/** A header the contract refuses, and why, as the CsvHeaderMismatch message says it. */
export interface HeaderMismatch {
  ok: false;
  problem: string;
}

/** The names a column is known by in a file: its header, then the headers it had before. */
function namesOf(column: ColumnContract): readonly string[] {
  return [column.source, ...(column.previousSources ?? [])];
}

/**
 * True when a file of `businessDate` may lack the column: it was added (`addedIn`, a business
 * date `YYYY-MM-DD` or month `YYYY-MM`) after that date. An `addedIn` that is not a date gives
 * no such leniency: the release it names says nothing about which files carry the column.
 */
export function predatesColumn(column: ColumnContract, businessDate: string): boolean {
  if (column.addedIn === undefined || !/^\d{4}-\d{2}(-\d{2})?$/.test(column.addedIn)) return false;
  return businessDate < column.addedIn; // '2026-12-31' < '2027-01' and '2027-01-05' > '2027-01': month means from its first day
}

/** The layout of a file's header for the contract, or why it does not match (named as an operator reads it). */
export function headerLayout(contract: TableContract, header: readonly string[], businessDate: string): HeaderLayout | HeaderMismatch {
  const expected = contract.columns.map((c) => c.source).join(';');
  const matched: ColumnContract[] = [];
  const extra: string[] = [];
  const repeated: string[] = [];
  for (const field of header) {
    const column = contract.columns.find((c) => c.source === field) ?? contract.columns.find((c) => namesOf(c).includes(field));
    if (!column) extra.push(field);
    else if (matched.includes(column)) repeated.push(field);
    else matched.push(column);
  }
  const unmatched = contract.columns.filter((c) => !matched.includes(c));
  const missing = unmatched.filter((c) => !predatesColumn(c, businessDate)).map((c) => c.source);
  const inOrder = matched.every((c, i) => i === 0 || contract.columns.indexOf(matched[i - 1]!) < contract.columns.indexOf(c));
  if (missing.length === 0 && extra.length === 0 && repeated.length === 0 && inOrder) {
    return { ok: true, sources: matched.map((c) => c.source), absent: unmatched.map((c) => c.name) };
  }
  const parts = [
    missing.length ? `missing ${missing.join(', ')}` : '',
    extra.length ? `unexpected ${extra.join(', ')}` : '',
    repeated.length ? `repeated ${repeated.join(', ')}` : '',
    !missing.length && !extra.length && !repeated.length ? 'columns in the wrong order' : '',
  ].filter(Boolean);
  return { ok: false, problem: `header does not match the ${contract.table} contract: ${parts.join('; ')} (expected ${expected})` };
}
