import type { RowIssue } from './errors.ts';

/**
 * What an incident is about, in one type for both layers: the workflows start and carry it
 * (`IncidentInput`), the activities record it in etl_incidents and write the alert from it.
 * Pure types; the workflow history holds them, so a new field is optional.
 */

/** Why no export of the night is in the inbox: the folder is not there, cannot be read, is not a folder, or holds none of the night's files. */
export type InboxProblem = 'absent' | 'unreadable' | 'not-a-directory' | 'no-export';

/** A night with nothing in the inbox at the deadline: where it looked, until when, and what it found. */
export interface MissingNight {
  inbox: string;
  /** The export deadline, ISO. */
  deadline: string;
  /** The same deadline as an operator reads it (`2026-03-05 06:00 Europe/Paris`); absent from nights recorded before it. */
  deadlineLocal?: string;
  problem: InboxProblem;
  /** The system's own words, when the folder could not be listed (e.g. `EACCES: permission denied, scandir '…'`). */
  detail?: string;
}

/** A failed load whose revert-by-load did not complete: the table may hold part of it until the incident's repair reverts it again. */
export interface UnrevertedLoad {
  loadId: string;
  /** The revert's error, as the activity reported it. */
  error: string;
}

/** A quarantined table's incident, or a whole night's (`tables`, `night`) when none of its exports arrived. */
export interface IncidentFacts {
  table: string;
  businessDate: string;
  errorType: string;
  message: string;
  /** The first rejected rows, when the problem is in the rows. */
  issues?: RowIssue[];
  quarantineDir: string;
  /** A night incident (`table` is then `inbox`): every table it holds back, loaded again by its repair. */
  tables?: string[];
  /** A night incident: the inbox it looked in, the deadline and what it found (for the alert). */
  night?: MissingNight;
  /** The failed load could not be reverted: the warehouse may hold part of it (the alert says so; the repair reverts it again). */
  unreverted?: UnrevertedLoad;
}

/** The facts as recorded and alerted: with the incident's workflow id (also its incident id). */
export interface RecordedIncidentFacts extends IncidentFacts {
  incidentId: string;
  workflowId: string;
}
