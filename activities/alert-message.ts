import { capText, failureLimits } from '../common/errors.ts';
import type { RecordedIncidentFacts } from '../common/incident-facts.ts';
import { composeNightAlert } from './night-alert-message.ts';

/** Everything an alert says about one incident: its facts, the day the table still shows, the Web UI link and the addresses. */
export interface AlertFacts extends Omit<RecordedIncidentFacts, 'workflowId'> {
  /** The last business date whose data the table still shows, if any. */
  authoritativeDate?: string;
  /** A night incident: the last business date each table still shows. */
  authoritativeDates?: Record<string, string>;
  workflowUrl: string;
  from: string;
  to: string[];
}

/** A message ready for nodemailer. */
export interface AlertMessage {
  messageId: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
}

/** What each stable error type means, in words an operator can forward to Sodiwin. */
const plainWords: Record<string, string> = {
  ExportMissing: "Sodiwin's export file for this table did not arrive in the inbox.",
  ExportIncomplete: 'The export file is incomplete: it was still being written at the deadline, or its last line is cut short.',
  NotARegularFile: "What lies in the inbox under the export's name is not an ordinary file (a link to another file, a pipe, a folder or a device), so it was not read.",
  NotCsv: 'The file is not a CSV text file at all (for example a compressed or binary file under a .csv name).',
  ManifestMismatch: "The file does not match Sodiwin's manifest for the night (row count or checksum): it is not the file Sodiwin meant to send.",
  EncodingMismatch: 'The file is not in the agreed character encoding, so accented letters would be wrong.',
  Mojibake: 'Some text in the file has been converted between encodings twice (for example "Ã©" instead of "é").',
  CsvMalformed: 'The file is not valid CSV (for example an unbalanced quote).',
  RecordTooLarge: 'One line of the file (or its header) is far longer than any real row: a runaway field or a quote that never closes. It was not read further.',
  CsvHeaderMismatch: "The file's header row does not match the agreed list of columns.",
  EmptyExport: 'The file is empty, or holds only its header where a full list of rows was expected.',
  RowValidationFailed: 'Some rows break the agreed format (a number, a date, a code or a required value).',
  DuplicateKey: 'The same key appears on more than one row.',
  CountMismatch: 'The rows loaded do not add up to the rows in the file.',
  ControlTotalMismatch: "The file's totals do not equal the control totals announced for it, or the totals loaded do not equal the file's.",
  SnapshotShrank: 'The full list is implausibly shorter than the day before (rows would be marked as deleted).',
  OutOfOrderLoad: 'A later day is already loaded for this table; an earlier day needs a re-check.',
};

/**
 * The alert to Paul for one incident: the subject names the table, the date and the
 * problem; the body says it in plain words, lists the first rejected rows with line
 * numbers, where the file is, the Web UI link and the exact approve command. Pure. The
 * message and each value are capped (`failureLimits`): reason.json has the full detail.
 */
export function composeAlert(facts: AlertFacts): AlertMessage {
  if (facts.tables && facts.night) return composeNightAlert({ ...facts, tables: facts.tables, night: facts.night });
  const headline = plainWords[facts.errorType] ?? 'The load did not reconcile.';
  const lines = [
    `The nightly load of table ${facts.table} for business date ${facts.businessDate} was stopped and the file set aside.`,
    ...whatTheTableHolds(facts),
    '',
    `What is wrong: ${headline}`,
    `Detail (${facts.errorType}): ${capText(facts.message, failureLimits.messageChars)}`,
  ];
  const issues = facts.issues ?? [];
  if (issues.length > 0) {
    lines.push('', `First rejected rows (${issues.length > 10 ? 'first 10 of ' : ''}${issues.length}):`);
    for (const issue of issues.slice(0, 10)) {
      const where = [`line ${issue.line}`, issue.column ? `column ${issue.column}` : undefined].filter(Boolean).join(', ');
      lines.push(`  - ${capText(where, failureLimits.textChars)}: ${capText(issue.rule, failureLimits.textChars)}${issue.value !== undefined ? ` (value "${capText(issue.value)}")` : ''}`);
    }
  }
  if (facts.errorType === 'RowValidationFailed' || facts.errorType === 'DuplicateKey') {
    // Every rejected line (up to WAREHOUSE_REJECTED_ROWS_CAP) is in etl_rejected_rows, not only the first few above.
    lines.push('', 'Every rejected row, with its raw line, as a CSV to send to Sodiwin:', '', `  warehouse rejects ${facts.incidentId} --csv > ${facts.incidentId}-rejects.csv`);
  }
  lines.push(
    '',
    `Quarantined file and reason: ${facts.quarantineDir}`,
    `Workflow in the Temporal Web UI: ${facts.workflowUrl}`,
    '',
    'Later nights keep fetching and archiving this table but do not load it until this is repaired.',
    'Once Sodiwin has sent a corrected export, an approver runs (it is signed with their approver key):',
    '',
    `  warehouse approve ${facts.incidentId} --mode rewind`,
    '',
    '(--mode time-travel restores the whole warehouse to the bookmark taken before the bad night, then replays every table.)',
  );
  return {
    messageId: `<${facts.incidentId}@sodimo-warehouse>`,
    from: facts.from,
    to: facts.to,
    subject: `[warehouse] ${facts.table} ${facts.businessDate}: ${facts.errorType} — ${headline.replace(/\.$/, '')}`,
    text: `${lines.join('\n')}\n`,
  };
}

/**
 * What the warehouse still shows of the table. After a failed revert it is not the previous day:
 * part of the bad load may be in it, until the approved repair reverts that load again.
 */
function whatTheTableHolds(facts: AlertFacts): string[] {
  if (facts.unreverted) {
    return [
      `WARNING: the revert of this load did not complete, so table ${facts.table} may hold part of the ${facts.businessDate} load (load ${facts.unreverted.loadId}).`,
      `The revert failed with: ${capText(facts.unreverted.error, failureLimits.messageChars)}`,
      "Readers of this table may see some of that day's rows until the incident is repaired: a rewind repair reverts the load again before it replays the day; a time-travel repair undoes it with the rest of the night.",
    ];
  }
  return [
    facts.authoritativeDate
      ? `The warehouse still shows this table as of ${facts.authoritativeDate}; nothing from the bad file was kept.`
      : 'Nothing from the bad file was kept; this table has no earlier data in the warehouse.',
  ];
}
