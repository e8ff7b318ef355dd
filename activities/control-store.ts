import type { LoadStatus, RunOutcome } from '../common/control-statuses.ts';
import type { D1Client, D1Param } from '../d1/client.ts';
import { D1SqlError } from '../d1/errors.ts';
import * as approvals from '../history/control/approvals.ts';
import * as audit from '../history/control/audit-trail.ts';
import * as chunks from '../history/control/backfill-chunks.ts';
import * as incidents from '../history/control/incidents.ts';
import * as loads from '../history/control/loads.ts';
import * as probe from '../history/control/probe.ts';
import * as rejected from '../history/control/rejected-rows.ts';
import * as runs from '../history/control/runs.ts';
import type { ControlStatement } from '../history/control/statement.ts';
import * as watermarks from '../history/control/watermarks.ts';
import { tablesHeldBy } from '../history/incident-tables.ts';

/**
 * The control store: the one owner of the etl_* tables. Its statements are built by the pure
 * builders of history/control/ (one file per table or pair of tables); this executes them over
 * the D1 client, with typed inputs and rows. Statements that must land in the same D1 batch as a
 * history merge or revert are taken from `controlSql` by the caller and sent in its batch.
 */

/** The builders, for statements that travel in another batch (a merge, a revert). */
export const controlSql = { approvals, audit, chunks, incidents, loads, probe, rejected, runs, watermarks } as const;

/** The D1 calls the store makes. */
export type ControlD1 = Pick<D1Client, 'query' | 'batch' | 'first'>;

/** The warehouse's control schema is not there: it was never migrated. Readers refuse with this, not a stack trace. */
export class WarehouseNotMigrated extends Error {
  readonly type = 'WarehouseNotMigrated';
  override readonly name = 'WarehouseNotMigrated';
  readonly table: string;
  constructor(table: string) {
    super(`the warehouse has no control schema yet (no table ${table}): it was never migrated; run \`warehouse migrate\` (or start the worker, which migrates)`);
    this.table = table;
  }
}

/** A D1SqlError saying a control table is missing, as WarehouseNotMigrated; anything else unchanged. */
function notMigrated(error: unknown): unknown {
  const missing = error instanceof D1SqlError ? /no such table: (?:main\.)?(etl_\w+)/.exec(error.d1Message)?.[1] : undefined;
  return missing ? new WarehouseNotMigrated(missing) : error;
}

/** The control store over a D1 client (activities and CLI commands create one from theirs). */
export function createControlStore(d1: ControlD1) {
  const run = async (statements: readonly ControlStatement[]) => {
    await d1.batch(statements);
  };
  const rows = async <Row>(s: ControlStatement): Promise<Row[]> => {
    try {
      const [result] = await d1.query<Row>(s.sql, s.params);
      return result?.results ?? [];
    } catch (error) {
      throw notMigrated(error);
    }
  };
  const one = async <Row>(s: ControlStatement): Promise<Row | undefined> => {
    try {
      return await d1.first<Row>(s.sql, s.params);
    } catch (error) {
      throw notMigrated(error);
    }
  };
  /** Statements in one request, each one's rows. */
  const batchRows = async <Row>(statements: readonly ControlStatement[]): Promise<Row[][]> => {
    try {
      return (await d1.batch<Row>(statements)).map((result) => result.results);
    } catch (error) {
      throw notMigrated(error);
    }
  };
  const now = () => new Date().toISOString();

  return {
    runs: {
      /** A run (re)starting, with the bookmark taken before it. */
      begin: (input: { runId: string; businessDate: string; workflowId: string; tablesTotal: number; bookmark: string }) => run(runs.beginRunStatements({ ...input, now: now() })),
      /** A run starting again, keeping the bookmark it recorded when it first began. */
      restart: (runId: string) => run([runs.restartRunStatement({ runId, now: now() })]),
      /** The bookmark a run recorded when it began, or undefined. */
      bookmarkOf: async (runId: string) => (await one<{ bookmark: string }>(runs.runBookmarkQuery(runId)))?.bookmark,
      /** A run ending. */
      finish: (input: { runId: string; status: RunOutcome; tablesOk: number; tablesFailed: number; summary: unknown }) =>
        run([runs.finishRunStatement({ ...input, summaryJson: JSON.stringify(input.summary), now: now() })]),
    },
    bookmarks: {
      /** The first bookmark taken before a nightly run of that date. */
      ofDate: (businessDate: string) => one<runs.BookmarkRow>(runs.bookmarkOfDateQuery(businessDate)),
      /** The last bookmark taken at or before an instant. */
      atOrBefore: (instant: string) => one<runs.BookmarkRow>(runs.bookmarkAtOrBeforeQuery(instant)),
    },
    loads: {
      /** The load's rows are in stage. */
      /** A step that records nothing else. */
      mark: (loadId: string, status: Parameters<typeof loads.markStatusStatement>[1]) => run([loads.markStatusStatement(loadId, status)]),
      /**
       * The load is `publishing` (it may write from here) and the table's watermark date, in one
       * request; publish refuses a load older than that date, and the failure path records it.
       */
      beginPublish: async (loadId: string, table: string) => {
        const [, watermark] = await batchRows<{ business_date: string }>([loads.markStatusStatement(loadId, 'publishing'), watermarks.watermarkQuery(table)]);
        return watermark?.[0]?.business_date;
      },
      /** A failed load, `failed` or `reverted`. */
      recordFailure: (input: Omit<Parameters<typeof loads.recordFailureStatement>[0], 'now'>) => run([loads.recordFailureStatement({ ...input, now: now() })]),
      /** The load's status, or undefined when it never started. */
      status: async (loadId: string) => (await one<{ status: LoadStatus }>(loads.loadStatusQuery(loadId)))?.status,
      /** The load, when it is verified: the run that verified it and what it counted and wrote. */
      verified: (loadId: string) => one<loads.VerifiedLoadRecord>(loads.verifiedLoadQuery(loadId)),
      /** The verified loads of a date range, with their file. */
      verifiedBetween: (fromDate: string, toDate: string) => rows<loads.LoadRef & { file_name: string; sha256: string }>(loads.verifiedBetweenQuery(fromDate, toDate)),
      /** A table's loads on or after a date whose versions are in history, newest first. */
      writtenSince: (table: string, fromDate: string) => rows<{ load_id: string; business_date: string }>(loads.writtenSinceQuery(table, fromDate)),
      /** The days a whole-warehouse restore replays, from a business date or from an instant. */
      replayedSince: (since: { fromDate: string } | { startedAt: string }) =>
        rows<loads.LoadRef>('fromDate' in since ? loads.replayedFromDateQuery(since.fromDate) : loads.replayedStartedSinceQuery(since.startedAt)),
      /** The verified nightly loads with their archived file, in date order. */
      verifiedArchived: (table?: string) => rows<loads.LoadRef & { file_name: string; archive_path: string }>(loads.verifiedArchivedQuery(table)),
      /** The first business date the table holds a verified load of, or undefined when it has none. */
      firstVerifiedDate: async (table: string) => (await one<{ business_date: string | null }>(loads.firstVerifiedDateQuery(table)))?.business_date ?? undefined,
      /** How many verified nightly loads (not the backfill's) there are. */
      verifiedNightlyCount: async () => (await one<{ n: number }>(loads.verifiedNightlyCountQuery()))?.n ?? 0,
      /** The archived dump of the latest verified backfill. */
      backfillArchive: async () => (await one<{ archive_path: string }>(loads.backfillArchiveQuery()))?.archive_path,
      /** The latest load per table (or that date's), with the watermark. */
      latestPerTable: (businessDate: string | null) => rows<loads.LoadStatusRow>(loads.latestLoadPerTableQuery(businessDate)),
      /** A backfill's loads begin importing. */
      startImports: (items: Omit<Parameters<typeof loads.startImportStatement>[0], 'now'>[]) => {
        const at = now();
        return run(items.map((item) => loads.startImportStatement({ ...item, now: at })));
      },
    },
    rejectedRows: {
      /** A load's stored rejected rows removed. */
      clear: (loadId: string) => run([rejected.deleteRejectedRowsStatement(loadId)]),
      /** Rejected rows of a load stored, a few requests of packed inserts (safe to resend). */
      insert: async (loadId: string, rows: readonly rejected.RejectedRow[]) => {
        for (const batch of rejected.insertRejectedRowsBatches(loadId, rows)) await run(batch);
      },
      /** A staged load's duplicate-key lines stored as rejected rows (within the cap), its count of rejected lines updated. */
      storeDuplicateKeys: (input: Parameters<typeof rejected.duplicateKeyRowsStatements>[0]) => run(rejected.duplicateKeyRowsStatements(input)),
      /**
       * The last rows of a validation, the exact count of the load's rejected lines with the cap its rows
       * were stored under and, for a file that passed, what validation counted: one request when they fit.
       */
      finish: async (input: { loadId: string; rows: readonly rejected.RejectedRow[]; rowsRejected: number; cap: number; validation?: { rowsRead: number; rowsValid: number; controlTotalsJson: string; keyIndexSha256?: string } }) => {
        const closing = [
          rejected.recordRejectedCountStatement({ loadId: input.loadId, rowsRejected: input.rowsRejected, cap: input.cap }),
          ...(input.validation ? [loads.recordValidationStatement({ loadId: input.loadId, rowsRejected: input.rowsRejected, ...input.validation })] : []),
        ];
        for (const batch of rejected.insertRejectedRowsBatches(input.loadId, input.rows, closing)) await run(batch);
      },
      /** One page of a load's stored rows after (line, issue), in file order. */
      page: (input: Parameters<typeof rejected.rejectedRowsPageQuery>[0]) => rows<rejected.RejectedRowRecord>(rejected.rejectedRowsPageQuery(input)),
      /** An incident and the failed load its rejected rows belong to; undefined: no such incident. */
      ofIncident: (incidentId: string) => one<rejected.IncidentLoadRow>(rejected.incidentLoadQuery(incidentId)),
    },
    watermarks: {
      /** A table's watermark date, or undefined when never loaded. */
      of: async (table: string) => (await one<{ business_date: string }>(watermarks.watermarkQuery(table)))?.business_date,
      /** Every table's watermark date. */
      all: async () => Object.fromEntries((await rows<{ table_name: string; business_date: string }>(watermarks.watermarksQuery())).map((w) => [w.table_name, w.business_date])),
      /** How many tables are loaded through a date or later. */
      tablesLoadedThrough: async (businessDate: string) => (await one<{ n: number }>(watermarks.tablesLoadedThroughQuery(businessDate)))?.n ?? 0,
      /** The watermark moves forward to a load (never backwards). */
      advance: (input: { table: string; businessDate: string; loadId: string }) => run([watermarks.advanceWatermarkStatement({ ...input, now: now() })]),
    },
    incidents: {
      /** An incident opened (once). */
      open: (input: Omit<Parameters<typeof incidents.openIncidentStatement>[0], 'now'>) => run([incidents.openIncidentStatement({ ...input, now: now() })]),
      /** The alert went out. */
      noteAlert: (incidentId: string, via: string) => run([incidents.noteAlertStatement(incidentId, via, now())]),
      /** The incident's repair loaded every day. */
      resolve: (incidentId: string) => run([incidents.resolveIncidentStatement(incidentId, now())]),
      /** The earliest incident holding a table back. */
      holding: async (table: string) => {
        const row = await one<{ incident_id: string; business_date: string }>(incidents.incidentHoldingQuery(table));
        return row ? { incidentId: row.incident_id, businessDate: row.business_date } : undefined;
      },
      /** The incidents holding tables back, each with the tables it holds. */
      holdingAll: async () => (await rows<{ incident_id: string; table_name: string; tables_json: string | null }>(incidents.holdingIncidentsQuery())).map((i) => ({ incidentId: i.incident_id, tables: tablesHeldBy(i) })),
      /** The 50 latest incidents, open ones first. */
      recent: <Row>() => rows<Row>(incidents.recentIncidentsQuery()),
      /** Days some table loaded and another did not, with no incident holding it back. */
      unaccountedDays: (tables: readonly string[], expected: string, windowDays: number) => rows<{ table_name: string; business_date: string }>(incidents.unaccountedDaysQuery(tables, expected, windowDays)),
    },
    deferrals: {
      /** A validated export an incident holds back; its load becomes `deferred`. */
      record: async (input: { incidentId: string; table: string; businessDate: string; loadId: string; archivePath: string }) => {
        await run([incidents.recordDeferralStatement({ ...input, now: now() })]);
        await run([loads.markStatusStatement(input.loadId, 'deferred')]);
      },
    },
    approvals: {
      /** The decision recorded under a key. */
      byKey: <Row>(decisionKey: string) => one<Row>(approvals.approvalQuery(decisionKey)),
      /** The accepted parity approval recorded under a key. */
      acceptedParity: (decisionKey: string) => one<approvals.ParityApprovalRow>(approvals.acceptedParityApprovalQuery(decisionKey)),
      /** A decision recorded; accepted for an incident, the incident approved in the same batch. */
      record: (record: approvals.ApprovalRecord, approveIncident: boolean) =>
        run([
          approvals.insertApprovalStatement(record),
          ...(approveIncident ? [incidents.markApprovedStatement({ incidentId: record.target, approver: record.approver, mode: record.mode, decisionKey: record.decision_key })] : []),
        ]),
      /** Legacy: a name-based decision; accepted, the incident approved. */
      recordLegacy: (input: Omit<Parameters<typeof approvals.insertLegacyDecisionStatement>[0], 'now'> & { incidentMode: string }) =>
        run([
          approvals.insertLegacyDecisionStatement({ ...input, now: now() }),
          ...(input.accepted ? [incidents.markApprovedStatement({ incidentId: input.incidentId, approver: input.by, mode: input.incidentMode })] : []),
        ]),
    },
    signoffs: {
      /** A parity sign-off recorded (once per approval). */
      record: (input: Parameters<typeof approvals.insertSignOffStatement>[0]) => run([approvals.insertSignOffStatement(input)]),
    },
    backfillChunks: {
      /** The chunks of a file a backfill already imported. */
      applied: async (loadId: string, file: string) => (await rows<{ chunk: number }>(chunks.appliedChunksQuery(loadId, file))).map((r) => r.chunk),
      /** Rows the chunks of these loads imported. */
      rowsImported: async (loadIds: readonly string[]) => (await one<{ n: number }>(chunks.rowsImportedQuery(loadIds)))?.n ?? 0,
    },
    audit: {
      /** The audit rows of one table written since an instant. */
      capture: (key: audit.AuditKey, since: string) => rows<Record<string, D1Param>>(audit.captureAuditQuery(key, since)),
    },
    probe: {
      /** The probe row written and read back. */
      writeAndRead: async (probeId: string, note: string) => {
        await run(probe.writeProbeStatements(probeId, note, now()));
        return one<{ probe_id: string; note: string; written_at: string; probes: number }>(probe.readProbeQuery(probeId));
      },
    },
  };
}

/** The control store's typed methods. */
export type ControlStore = ReturnType<typeof createControlStore>;
