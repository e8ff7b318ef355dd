import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ExpectedApproval, RollbackMode } from '../common/approval-statement.ts';
import type { IncidentFacts, UnrevertedLoad } from '../common/incident-facts.ts';

/**
 * The contract between the workflows and whoever talks to them (the CLI, other workflows, an
 * operator at `temporal workflow signal`): every signal, update and query, the workflow ids,
 * workflow type names used across files, and the types both sides share. Pure: no workflow
 * imports another's internals for these. The names are in recorded histories and running
 * workflows: never rename one (docs/changing-workflows.md, "Messages").
 *
 * The approval and lease messages keep their own files (each with the payload checks its
 * handlers run) and are re-exported here, so this module is the one place to import from.
 */

export { approvalPayloadProblem, approveRollbackSignal, approveRollbackUpdate, type ApprovalOutcome, type ApprovalPayload } from './approval-messages.ts';
export {
  isLeaseAnswer,
  isLeaseRelease,
  isLeaseRequest,
  leaseAnswerSignal,
  leaseStateQuery,
  releaseLeaseSignal,
  requestLeaseSignal,
  waitingForLeaseStatus,
  warehouseLeaseWorkflowId,
  type LeaseAnswer,
  type LeaseKind,
  type LeaseRequest,
  type LeaseState,
  type WarehouseLeaseInput,
} from './lease-messages.ts';
export type { RollbackMode } from '../common/approval-statement.ts';
export type { IncidentFacts, MissingNight, UnrevertedLoad } from '../common/incident-facts.ts';

// ---- Incidents -------------------------------------------------------------------------

/** The incident workflow's type name: started by name where importing it would close an import cycle. */
export const incidentWorkflowType = 'incident';

/** What starts an incident: the facts of a quarantined table's export (or of a night none of whose exports arrived), and what an approver signs. */
export interface IncidentInput extends IncidentFacts {
  /** sha256 of the quarantined file (none when the export was missing): what an approver signs they saw. */
  sha256?: string;
  /** Legacy: histories before signed approvals carried a list of names here. It is ignored. */
  approvers?: string[];
}

/** A later night's export held back by an incident (`table`: which one, for a night incident). */
export interface DeferredExport {
  businessDate: string;
  loadId: string;
  table?: string;
}

/** The incident's state, for the CLI and the Web UI. */
export interface IncidentState {
  incidentId: string;
  table: string;
  businessDate: string;
  status: 'opening' | 'open' | 'repairing' | 'resolved';
  errorType: string;
  message: string;
  quarantineDir: string;
  /** What an approval must be signed for. */
  evidence: ExpectedApproval['evidence'];
  alert: 'pending' | 'smtp' | 'file';
  /** The `.eml` file, when the alert was written to disk. */
  alertFile?: string;
  /** Later nights held back; a night incident's name their table. */
  deferred: DeferredExport[];
  /** A night incident: the tables it holds back. */
  tables?: string[];
  /** Refused approvals; `by` is the verified owner of the signing key, when the signature verified. */
  refusals: { by?: string; mode?: string; reason: string; decisionId?: string }[];
  /** The accepted approval: `by` comes from the approver's key. */
  approval?: { by: string; mode: RollbackMode; fingerprint?: string; decisionId?: string };
  /** Why recording the incident in D1 failed last (it is retried; the alert does not wait for it). */
  lastRecordError?: string;
  /** The failed load whose revert did not complete: the table may hold part of it until a repair reverts it again. */
  unreverted?: UnrevertedLoad;
  /** Why the last approved repair did not complete (the incident is open again). */
  lastRepairError?: string;
  /** Business dates replayed by the repair, in order. */
  replayed: string[];
  /** What the approved repair waits for before it starts, e.g. `warehouse lease (held by nightly-2026-03-05)`. */
  waitingFor?: string;
}

/** A later night's export of the table, archived and validated but held back (sent by loadTable to the incident holding it). */
export const exportDeferredSignal = defineSignal<[DeferredExport]>('exportDeferred');
/** The incident as it stands. */
export const incidentStateQuery = defineQuery<IncidentState>('incidentState');

/** The workflow id of a table's incident for a business date. */
export const incidentWorkflowId = (table: string, businessDate: string) => `incident-${table}-${businessDate}`;
/** What a night incident is about, in place of a table: the inbox, which held none of the night's exports. */
export const nightIncidentSubject = 'inbox';
/** The workflow id of the one incident of a night none of whose exports arrived: `incident-inbox-<date>`. */
export const nightIncidentWorkflowId = (businessDate: string) => incidentWorkflowId(nightIncidentSubject, businessDate);

// ---- Nightly runs, re-checks, backfills --------------------------------------------------

/** The workflow id of a business date's nightly run (one at a time per date, however it was started). */
export const nightlyWorkflowId = (businessDate: string) => `nightly-${businessDate}`;
/**
 * Patch marker of one child-id shape: every workflow that loads tables (nightly run, incident
 * repair, manual rollback, rebuild, re-check) names its `loadTable` children with
 * `childWorkflowId`. A child's id is checked on replay (TMPRL1100 "Child workflow id of
 * scheduled event … does not match"), so histories before it keep the shape they had.
 */
export const oneChildIdShapePatch = 'one-child-id-shape';
/**
 * The workflow id of a child workflow: `<parent>-<subject>-<date>`, the subject a table (a
 * `loadTable` child) or `recheck` (a nightly run's re-check of an earlier date). The one shape
 * for new starts; e.g. `nightly-2026-03-02-customers-2026-03-02`, `incident-orders-2026-08-05-orders-2026-08-06`.
 */
export const childWorkflowId = (parentId: string, subject: string, businessDate: string) => `${parentId}-${subject}-${businessDate}`;
/** Legacy (histories before `one-child-id-shape`): the workflow id of a nightly run's child loading one table. */
export const nightlyTableWorkflowId = (nightlyId: string, table: string) => `${nightlyId}-${table}`;
/** The workflow id of the re-check a nightly run starts for an earlier date whose export was corrected (always this shape). */
export const nightlyRecheckWorkflowId = (nightlyId: string, businessDate: string) => childWorkflowId(nightlyId, 'recheck', businessDate);
/** The workflow id of a re-check of a date, by hand (`warehouse recheck`). */
export const recheckWorkflowId = (businessDate: string) => `recheck-${businessDate}`;

/** What `warehouse backfill` shows: the phase, files and rows. */
export interface BackfillProgress {
  asOf?: string;
  phase: 'planning' | 'validating' | 'importing' | 'finishing' | 'done' | 'reverting' | 'failed';
  filesTotal: number;
  filesValidated: number;
  filesImported: number;
  rowsTotal: number;
  currentFile?: string;
  startedAt?: string;
  error?: { type: string; message: string };
  /** Before it starts: what it waits for, e.g. `warehouse lease (held by rollback-…)`. */
  waitingFor?: string;
}

/** The backfill's progress, for the CLI's progress bar and the Web UI. */
export const backfillProgressQuery = defineQuery<BackfillProgress>('backfillProgress');

/** What `warehouse recheck` shows while it runs: the changed tables found, and the days replayed of the ones known so far. */
export interface RecheckProgress {
  /** Undefined until the changed exports are known. */
  tablesChanged?: string[];
  /** Days to replay, summed over the tables rewound so far. */
  daysTotal: number;
  daysReplayed: number;
}

/** The re-check's progress, for the CLI's progress line. */
export const recheckProgressQuery = defineQuery<RecheckProgress>('recheckProgress');

// ---- A night's progress ------------------------------------------------------------------

/**
 * How far one table of a night has got: waiting its turn, one of loadTable's steps, or how it
 * ended. `loading`: its `loadTable` child runs, and answers its step itself (`loadStep` query).
 */
export type TableStage = 'queued' | 'loading' | 'fetch' | 'validate' | 'stage' | 'publish' | 'verify' | 'loaded' | 'unchanged' | 'deferred' | 'failed';

/** One table's line of a night's progress. */
export interface TableProgress {
  table: string;
  stage: TableStage;
  /** Rows of the file: valid rows once validated, rows read once it ended. */
  rows?: number;
  /** What it waits for, e.g. `COMMANDES_20260305.csv in the inbox (until 2026-03-06 06:00 Europe/Paris)`. */
  waitingFor?: string;
  /** How it failed (`CsvHeaderMismatch: …`), or the incident that holds it back. */
  detail?: string;
  /** The `loadTable` child that loads it, once started (nights since patch `stages-by-query`). */
  workflowId?: string;
}

/** A nightly run's progress, for `warehouse run --progress` and the Web UI's Queries tab. */
export interface NightProgress {
  businessDate: string;
  /** What the night as a whole is doing or waits for, before and after its tables' loads. */
  phase: 'waiting for the warehouse lease' | 'beginning' | 'late corrections' | "waiting for the night's first file" | 'loading' | 'done';
  /** Set while the night waits for something of its own (the lease, its first file). */
  waitingFor?: string;
  tables: TableProgress[];
}

/** A step a `loadTable` child has reached, sent to the nightly run that started it. */
export interface TableStageReport {
  table: string;
  stage: TableStage;
  rows?: number;
}

/** The nightly run's progress: per table, the stage reached, rows, waiting for what. */
export const progressQuery = defineQuery<NightProgress>('progress');
/** Sent by a nightly run's `loadTable` child at each of its steps (patch `night-progress`; nights since `stages-by-query` ask for none). */
export const tableStageSignal = defineSignal<[TableStageReport]>('tableStage');
/** A `loadTable`'s own step, rows and what it waits for: read by `warehouse run --progress` for a night's `loading` tables. */
export const loadStepQuery = defineQuery<TableProgress>('loadStep');
