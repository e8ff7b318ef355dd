import type { RowIssue } from '../common/errors.ts';
import { columnSchema, type NormalisedRow } from '../contracts/row-schema.ts';
import type { TableContract } from '../contracts/types.ts';

export type { NormalisedRow } from '../contracts/row-schema.ts';

/** A row that passed the contract, or every problem found in it. */
export type RowCheck = { ok: true; row: NormalisedRow } | { ok: false; issues: RowIssue[] };

/**
 * The per-row check of validate: every column through its zod schema, collecting all
 * the row's problems with line, source column, value and rule. Built once per file.
 */
export function rowValidatorFor(contract: TableContract): (raw: Record<string, string>, line: number) => RowCheck {
  const columns = contract.columns.map((column) => ({ column, schema: columnSchema(column) }));
  return (raw, line) => {
    const row: NormalisedRow = {};
    const issues: RowIssue[] = [];
    for (const { column, schema } of columns) {
      const value = raw[column.source] ?? '';
      const result = schema.safeParse(value);
      if (result.success) row[column.name] = result.data;
      else issues.push({ line, column: column.source, value: value.slice(0, 200), rule: result.error.issues[0]?.message ?? 'invalid value' });
    }
    return issues.length === 0 ? { ok: true, row } : { ok: false, issues };
  };
}
