import { readableText } from '../common/readable-text.ts';
import type { RejectedRow } from '../history/control/rejected-rows.ts';
import type { ControlStore } from './control-store.ts';
import type { RejectedLine } from './export-reader.ts';

/** Rows sent per D1 request (then packed to D1's statement limits): a few requests per thousand bad lines. */
export const rejectedRowsPerRequest = 500;

/** The value as a message quotes it: shorter than the stored one. */
const quotedValueChars = 200;

/**
 * A rejected line as the rows etl_rejected_rows stores: one per problem, in order, the raw line on
 * the first only; every text escaped and cut (common/readable-text.ts), so a hostile file cannot
 * blow up a D1 row. Pure.
 */
export function rejectedRowsOf(rejected: RejectedLine): RejectedRow[] {
  return rejected.issues.map((issue, index) => {
    const column = issue.column === undefined ? null : readableText(issue.column);
    const value = issue.value === undefined ? null : readableText(issue.value);
    const rule = readableText(issue.rule);
    const where = [`line ${issue.line}`, column ? `column ${column}` : undefined].filter(Boolean).join(', ');
    const quoted = issue.value === undefined ? '' : ` (value "${readableText(issue.value, quotedValueChars)}")`;
    return { line: issue.line, issue: index + 1, column, value, rule, message: `${where}: ${rule}${quoted}`, rawLine: index === 0 ? readableText(rejected.raw) : null };
  });
}

/** Streams a load's rejected lines to etl_rejected_rows. */
export interface RejectedRowsWriter {
  /** One rejected line, stored if the cap allows; awaited when a request goes out. */
  add(rejected: RejectedLine): Promise<void>;
  /**
   * The last rows sent and the exact count of rejected lines recorded with the cap, in one request;
   * with `validation`, what validation counted on the load's row too (a file that passes).
   */
  finish(rowsRejected: number, validation?: { rowsRead: number; rowsValid: number; controlTotalsJson: string; keyIndexSha256?: string }): Promise<void>;
}

/**
 * Stores the first `cap` rejected lines of a load in requests of about `rejectedRowsPerRequest`
 * rows; lines beyond the cap are only counted (etl_loads.rows_rejected is exact). The caller has
 * removed the load's rows of an earlier attempt first (validate's first request).
 */
export function createRejectedRowsWriter(input: { store: ControlStore; loadId: string; cap: number; rowsPerRequest?: number }): RejectedRowsWriter {
  const perRequest = input.rowsPerRequest ?? rejectedRowsPerRequest;
  let buffer: RejectedRow[] = [];
  let linesKept = 0;
  const flush = async () => {
    if (buffer.length === 0) return;
    const rows = buffer;
    buffer = [];
    await input.store.rejectedRows.insert(input.loadId, rows);
  };
  return {
    async add(rejected) {
      if (linesKept >= input.cap) return;
      linesKept += 1;
      buffer.push(...rejectedRowsOf(rejected));
      if (buffer.length >= perRequest) await flush();
    },
    async finish(rowsRejected, validation) {
      const rows = buffer;
      buffer = [];
      await input.store.rejectedRows.finish({ loadId: input.loadId, rows, rowsRejected, cap: input.cap, ...(validation ? { validation } : {}) });
    },
  };
}
