import { ApplicationFailure } from '@temporalio/common';

/**
 * Stable type names of the warehouse's permanent data errors. They travel as
 * ApplicationFailure types (never class names, which bundlers rename) and are
 * what etl_loads.error_type, alerts and tests rely on.
 */
export const etlErrorTypes = [
  'ExportMissing',
  'ExportIncomplete',
  'NotARegularFile',
  'NotCsv',
  'ManifestMismatch',
  'EncodingMismatch',
  'Mojibake',
  'CsvMalformed',
  'RecordTooLarge',
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
  /** Rejected rows left out of `issues` to keep the failure small (the full list is in reason.json). */
  issuesOmitted?: number;
  /** Where the failure's uncapped message and details were written, when they had to be capped (quarantine copies them into reason.json). */
  fullDetailFile?: string;
  /** For a failed reconciliation (verify): every measure compared, what was expected and what was found. */
  reconciliation?: ReconciledMeasure[];
}

/** One measure of verify's reconciliation: e.g. "versions inserted by the load", expected 120, found 119. */
export interface ReconciledMeasure {
  measure: string;
  expected: number | string;
  actual: number | string;
  ok: boolean;
}

/**
 * How much of a data error travels: the Temporal history (gRPC refuses a message over
 * 4 MB and a history event over 2 MB), etl_loads.error_detail, the incident and the email
 * carry at most this; reason.json in the quarantine keeps the full detail.
 */
export const failureLimits = { messageChars: 2048, valueChars: 200, textChars: 500, detailsChars: 8192 } as const;

/** A text cut to `max` characters with an ellipsis and its original length, e.g. `XXXX… (1048576 chars)`; short texts unchanged. */
export function capText(text: string, max: number = failureLimits.valueChars): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

/** Details small enough for the history: every text capped, then rejected rows dropped from the end until the whole fits. */
export function capDetails(details: EtlErrorDetails): EtlErrorDetails {
  const { valueChars, textChars, detailsChars } = failureLimits;
  const capIssue = (issue: RowIssue): RowIssue => ({
    line: issue.line,
    ...(issue.column !== undefined ? { column: capText(issue.column, textChars) } : {}),
    ...(issue.value !== undefined ? { value: capText(issue.value, valueChars) } : {}),
    rule: capText(issue.rule, textChars),
  });
  const capped: EtlErrorDetails = { ...details };
  for (const key of ['file', 'column', 'rule'] as const) if (details[key] !== undefined) capped[key] = capText(details[key], textChars);
  if (details.value !== undefined) capped.value = capText(details.value, valueChars);
  if (details.issues) {
    const issues = details.issues.map(capIssue);
    let omitted = details.issuesOmitted ?? 0;
    while (issues.length > 1 && JSON.stringify({ ...capped, issues }).length > detailsChars) {
      issues.pop();
      omitted += 1;
    }
    capped.issues = issues;
    if (omitted > 0) capped.issuesOmitted = omitted;
  }
  return capped;
}

/** The uncapped message and details of a failure made by `etlFailure`, when capping changed them. */
export interface FullEtlDetail {
  message: string;
  details: EtlErrorDetails;
}

const fullDetails = new WeakMap<object, FullEtlDetail>();

/** What `etlFailure` had to cut from this failure, or undefined when it travels whole. Not serialised: the activity that throws keeps it (reason.json). */
export function fullDetailOf(failure: unknown): FullEtlDetail | undefined {
  return typeof failure === 'object' && failure !== null ? fullDetails.get(failure) : undefined;
}

/** The one-line message of a data error: table, date, file and position first, then the problem. */
export function describeEtlError(details: EtlErrorDetails, problem: string): string {
  const where = [details.file, details.line !== undefined ? `line ${details.line}` : undefined, details.column ? `column ${details.column}` : undefined]
    .filter(Boolean)
    .join(', ');
  const value = details.value !== undefined ? ` (value "${details.value}")` : '';
  return `${details.table} ${details.businessDate}${where ? ` [${where}]` : ''}: ${problem}${value}`;
}

/**
 * A permanent, non-retryable data error with a stable type and its details, capped to
 * `failureLimits` (a 10 MB header or a 100 MB field must not become a 10 MB failure);
 * what was cut stays readable through `fullDetailOf`.
 */
export function etlFailure(type: EtlErrorType, problem: string, details: EtlErrorDetails): ApplicationFailure {
  const capped = capDetails(details);
  const full = describeEtlError(details, problem);
  const message = capText(describeEtlError(capped, problem), failureLimits.messageChars);
  const failure = ApplicationFailure.create({ type, message, nonRetryable: true, details: [capped] });
  if (message !== full || JSON.stringify(capped) !== JSON.stringify(details)) fullDetails.set(failure, { message: full, details });
  return failure;
}
