import { ApplicationFailure } from '@temporalio/common';

/**
 * Stable type names of the warehouse's permanent data errors. They travel as
 * ApplicationFailure types (never class names, which bundlers rename) and are
 * what etl_loads.error_type, alerts and tests rely on.
 */
export const etlErrorTypes = [
  'ExportMissing',
  'ExportIncomplete',
  'NotCsv',
  'ManifestMismatch',
  'EncodingMismatch',
  'Mojibake',
  'CsvMalformed',
  'CsvHeaderMismatch',
  'EmptyExport',
  'RowValidationFailed',
  'DuplicateKey',
  'CountMismatch',
  'ControlTotalMismatch',
  'SnapshotShrank',
  'UnknownTable',
  'OutOfOrderLoad',
  'WarehouseNotEmpty',
] as const;

/** One of the stable error type names. */
export type EtlErrorType = (typeof etlErrorTypes)[number];

/** One rejected value: where it is and which rule it broke. */
export interface RowIssue {
  line: number;
  column?: string;
  value?: string;
  rule: string;
}

/** What every data error carries, so an operator can find the problem without reading code. */
export interface EtlErrorDetails {
  table: string;
  businessDate: string;
  file?: string;
  line?: number;
  column?: string;
  value?: string;
  rule?: string;
  /** The first rejected rows (at most 100). */
  issues?: RowIssue[];
}

/** The one-line message of a data error: table, date, file and position first, then the problem. */
export function describeEtlError(details: EtlErrorDetails, problem: string): string {
  const where = [details.file, details.line !== undefined ? `line ${details.line}` : undefined, details.column ? `column ${details.column}` : undefined]
    .filter(Boolean)
    .join(', ');
  const value = details.value !== undefined ? ` (value "${details.value}")` : '';
  return `${details.table} ${details.businessDate}${where ? ` [${where}]` : ''}: ${problem}${value}`;
}

/** A permanent, non-retryable data error with a stable type and its details. */
export function etlFailure(type: EtlErrorType, problem: string, details: EtlErrorDetails): ApplicationFailure {
  return ApplicationFailure.create({ type, message: describeEtlError(details, problem), nonRetryable: true, details: [details] });
}
