import type { RowIssue } from '../common/errors.ts';
import { columnParser, type NormalisedRow } from '../contracts/row-schema.ts';
import type { TableContract } from '../contracts/types.ts';

export type { NormalisedRow } from '../contracts/row-schema.ts';

/** A row that passed the contract, or every problem found in it. */
export type RowCheck = { ok: true; row: NormalisedRow } | { ok: false; issues: RowIssue[] };

/**
 * The per-row check of validate: every column through its parser (the function zod's
 * `columnSchema` wraps, without zod's per-call cost), collecting all the row's problems with
 * line, source column, value and rule. Built once per file.
 */
export function rowValidatorFor(contract: TableContract): (raw: Record<string, string>, line: number) => RowCheck {
  const columns = contract.columns.map((column) => ({ column, parse: columnParser(column) }));
  return (raw, line) => {
    const row: NormalisedRow = {};
    const issues: RowIssue[] = [];
    for (const { column, parse } of columns) {
      const value = raw[column.source] ?? '';
      const result = parse(value);
      if (result.ok) row[column.name] = result.value;
      else issues.push({ line, column: column.source, value: value.slice(0, 200), rule: result.rule });
    }
    return issues.length === 0 ? { ok: true, row } : { ok: false, issues };
  };
}
