import type { ControlStore } from '../activities/control-store.ts';
import type { RejectedRowRecord } from '../history/control/rejected-rows.ts';
import { UserError } from './cli-support.ts';

/** Rows read per D1 query while listing a load's rejected rows (a keyset scan, so any count stays cheap). */
export const rejectsPageRows = 1000;

/** An incident's load and what is known of its rejected rows. */
export interface IncidentRejects {
  incidentId: string;
  table: string;
  businessDate: string;
  errorType: string | null;
  /** The failed load of that table and date (null: none was recorded, e.g. the file never arrived). */
  loadId: string | null;
  fileName: string | null;
  /** The exact count of rejected lines (null: not counted, the load was validated before migration 0007 or never validated). */
  rowsRejected: number | null;
  /** The cap the rows were stored under (null: not recorded). */
  cap: number | null;
  /** Lines whose rows are stored. */
  linesStored: number;
  /** Rejected lines counted but not stored: beyond the cap. */
  beyondCap: number;
}

/** The incident's load and its counts; a UserError naming the incident when there is no such incident. */
export async function incidentRejects(store: ControlStore, incidentId: string): Promise<IncidentRejects> {
  const row = await store.rejectedRows.ofIncident(incidentId);
  if (!row) throw new UserError(`no incident "${incidentId}" in the warehouse: give the id as the alert prints it, e.g. incident-customers-2026-03-04 (\`warehouse incidents\` lists them)`);
  const rowsRejected = row.rejected_rows_cap === null ? null : row.rows_rejected;
  return {
    incidentId: row.incident_id,
    table: row.table_name,
    businessDate: row.business_date,
    errorType: row.error_type,
    loadId: row.load_id,
    fileName: row.file_name,
    rowsRejected,
    cap: row.rejected_rows_cap,
    linesStored: row.lines_stored,
    beyondCap: rowsRejected === null ? 0 : Math.max(0, rowsRejected - row.lines_stored),
  };
}

/** Every stored rejected row of a load (none without one), in file order (line, then issue), page by page. */
export async function* rejectedRowsOf(store: ControlStore, loadId: string | null, pageRows = rejectsPageRows): AsyncGenerator<RejectedRowRecord> {
  if (loadId === null) return;
  let after = { line: 0, issue: 0 };
  for (;;) {
    const page = await store.rejectedRows.page({ loadId, after, limit: pageRows });
    yield* page;
    const last = page.at(-1);
    if (!last || page.length < pageRows) return;
    after = { line: last.line, issue: last.issue };
  }
}

/** "N more rejected rows beyond the cap of C", when some were counted but not kept. */
export function beyondCapNote(rejects: IncidentRejects): string | undefined {
  if (rejects.beyondCap === 0 || rejects.cap === null) return undefined;
  return `${rejects.beyondCap} more rejected ${rejects.beyondCap === 1 ? 'row' : 'rows'} beyond the cap of ${rejects.cap} (WAREHOUSE_REJECTED_ROWS_CAP)`;
}

/** One line saying what the list is about, or why there is none. */
export function rejectsHeadline(rejects: IncidentRejects): string {
  const subject = `${rejects.incidentId}: ${rejects.table} ${rejects.businessDate}${rejects.errorType ? `, ${rejects.errorType}` : ''}`;
  if (!rejects.loadId) return `${subject}: no load of that table and date was recorded, so no rejected rows (the file may never have arrived, or a Time Travel repair restored the warehouse to before it)`;
  if (rejects.rowsRejected === null) {
    return `${subject}: no rejected rows recorded for ${rejects.fileName ?? rejects.loadId}: the file was refused as a whole, before its lines were counted (or validated before the warehouse kept rejected rows); reason.json in the quarantine has the detail`;
  }
  if (rejects.rowsRejected === 0) return `${subject}: ${rejects.fileName ?? rejects.loadId} has no rejected rows`;
  return `${subject}: ${rejects.rowsRejected} rejected ${rejects.rowsRejected === 1 ? 'line' : 'lines'} in ${rejects.fileName ?? rejects.loadId}`;
}

/** The CSV columns of `warehouse rejects --csv`, in order. */
export const rejectsCsvHeader = ['line', 'issue', 'column', 'value', 'rule', 'message', 'raw_line'] as const;

/** A stored row as the CSV's fields, in `rejectsCsvHeader` order. */
export function rejectsCsvFields(row: RejectedRowRecord): (string | number | null)[] {
  return [row.line, row.issue, row.column_name, row.value, row.rule, row.message, row.raw_line];
}

/** One RFC 4180 record: fields joined by commas, quoted (quotes doubled) when they hold a comma, quote or line break; CRLF at the end. */
export function csvRecord(fields: readonly (string | number | null)[]): string {
  return `${fields.map((f) => (f === null ? '' : /[",\r\n]/.test(String(f)) ? `"${String(f).replaceAll('"', '""')}"` : String(f))).join(',')}\r\n`;
}
