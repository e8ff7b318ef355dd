import { tableContracts } from '../contracts/index.ts';
import { exportFileName } from '../contracts/types.ts';

/**
 * The one-line texts the Web UI shows beside each activity and child workflow of a night
 * (Temporal's user metadata: `summary` on an activity, `staticSummary` on a child), so a
 * stuck run says what it is doing and what it waits for. Pure: the same input, the same text.
 * Metadata is not part of a command's identity: changing a text needs no patch (test/replay).
 */

/** The Sodiwin file of a table's export for a date (`COMMANDES_20260305.csv`); the table itself for a table no contract names. */
export function exportFileOf(table: string, businessDate: string): string {
  const contract = tableContracts.find((c) => c.table === table);
  return contract ? exportFileName(contract, businessDate) : `the ${table} export of ${businessDate}`;
}

/** fetch: the file, and until when it is waited for (the export deadline, as operators read it) when the caller knows. */
export function fetchSummary(table: string, businessDate: string, deadline?: string): string {
  const file = exportFileOf(table, businessDate);
  return deadline ? `fetch ${file} — waiting until ${deadline} at the latest` : `fetch ${file} from the inbox`;
}

/** fetch's first look (a local activity): the file taken if it is there and complete. */
export function fetchReadySummary(table: string, businessDate: string): string {
  return `fetch ${exportFileOf(table, businessDate)} if it is there and complete`;
}

/** The summaries of a load's other steps, once the file is known. */
export const loadStepSummaries = {
  archived: (fileName: string) => `take ${fileName} from the archive (checksum computed again)`,
  openIncidentFor: (table: string) => `is an incident open for ${table}? (an open one holds the load back)`,
  validate: (fileName: string, table: string) => `validate ${fileName} against the ${table} contract`,
  deferred: (fileName: string, incidentId: string) => `defer ${fileName}: held back by ${incidentId}`,
  stage: (fileName: string, rows: number, table: string) => `stage ${rows} valid rows of ${fileName} into _stage_${table}`,
  publish: (table: string, businessDate: string) => `publish ${table} ${businessDate}: SCD2 merge into the history`,
  verify: (table: string, businessDate: string) => `verify ${table} ${businessDate}: counts, versions and control totals`,
  revert: (table: string, loadId: string) => `revert load ${loadId} of ${table} (the previous day stays authoritative)`,
  recordFailure: (table: string, businessDate: string, errorType: string) => `record the failed ${table} ${businessDate} load (${errorType})`,
  quarantine: (table: string, businessDate: string) => `quarantine the ${table} file of ${businessDate} with its reason.json`,
} as const;

/** The nightly run's own steps. */
export const nightSummaries = {
  beginRun: (businessDate: string, tables: number) => `begin the ${businessDate} night: Time Travel bookmark, then ${tables} table loads`,
  changedExports: (days: number) => `look for re-exports of the previous ${days} days with other content (late corrections)`,
  finishRun: (businessDate: string, status: string, ok: number, total: number) => `record the ${businessDate} night as ${status}: ${ok} of ${total} tables without failure`,
} as const;

/** A `loadTable` child, as its parent's timeline and the list view show it. */
export function loadTableSummary(table: string, businessDate: string, archived = false): string {
  return `load ${table} ${businessDate} from ${exportFileOf(table, businessDate)}${archived ? ' (archived)' : ''}`;
}

/** An incident child: what failed, for which table and date. */
export function incidentSummary(table: string, businessDate: string, errorType: string): string {
  return `incident: ${table} ${businessDate} set aside (${errorType}); waits for a signed approval`;
}

/** A nightly run's re-check of an earlier date. */
export function recheckSummary(businessDate: string, tables: string[]): string {
  return `re-check ${businessDate}: ${tables.join(', ')} re-exported with other content`;
}
