import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Context, log } from '@temporalio/activity';
import { whileHeartbeating } from './keep-alive.ts';
import { equalDecimals, parseDecimal } from '../common/decimal.ts';
import { etlFailure } from '../common/errors.ts';
import { contractFor } from '../contracts/index.ts';
import type { Dialect, TableContract } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import { controlSql, createControlStore } from './control-store.ts';
import { createRejectedRowsWriter } from './rejected-rows-writer.ts';
import { scanExport, type ExportScan } from './export-reader.ts';
import type { FetchedExport } from './fetch.ts';
import { keepingFullDetail, type NasLayout } from './nas.ts';
import { rowHash } from './row-hash.ts';
import { createSpoolWriter, pruneSpools, spoolPathFor, type StageSpool } from './stage-spool.ts';
import { pruneKeyIndexes, type KeyIndex } from './key-index.ts';
import { openSnapshotDiff } from './snapshot-diff.ts';

/** A spool no stage took within two days (a deferred or abandoned load) is removed. */
const spoolKeepMs = 2 * 86_400_000;
/** A full snapshot's key index serves the next load of its table; after a week unused it is removed. */
const keyIndexKeepMs = 7 * 86_400_000;

/** What validation needs. */
export interface ValidateDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first' | 'scalar'>;
  nas: NasLayout;
  /** Rejected rows a file may have and still load (default policy: none). */
  rejectTolerance: number;
  /** Rejected lines of a load stored in etl_rejected_rows; beyond it they are only counted. */
  rejectedRowsCap: number;
  dialect: Dialect;
}

/** Which archived export to validate, for which run. */
export interface ValidateInput {
  table: string;
  businessDate: string;
  runId: string;
  fetched: FetchedExport;
}

/** The validation report's counts and control totals (the rows stay in the file). */
export interface ValidationReport {
  rowsRead: number;
  rowsValid: number;
  rowsRejected: number;
  controlTotals: Record<string, string>;
  reportPath: string;
  /**
   * The earliest open incident holding the table back when validation began, read in the request
   * that starts the load (what `openIncidentFor` answers); null when none does.
   */
  heldBy?: { incidentId: string; businessDate: string } | null;
  /** The valid rows, parsed and hashed, for stage (stage-spool.ts): all of them, or a full snapshot's changes (`spool.diff`). */
  spool?: StageSpool;
  /** A full snapshot's keys and row hashes, with their digest (key-index.ts): what verify proves the warehouse holds. */
  keyIndex?: KeyIndex;
}

/**
 * validate: stream the archived file through the contract; reject it on any structural
 * error or invalid row, when it disagrees with Sodiwin's manifest (rows, control totals),
 * or when a full snapshot is empty or implausibly smaller than the day before. A failure
 * too large for the history travels capped; its full detail is kept for reason.json. Every
 * rejected line, up to `rejectedRowsCap`, is stored in etl_rejected_rows with the exact count,
 * whatever the verdict; a retry stores them again from scratch.
 */
export const createValidateActivities = (deps: ValidateDeps) => ({
  validateExport(input: ValidateInput): Promise<ValidationReport> {
    return whileHeartbeating(() => keepingFullDetail(deps.nas, input, async () => {
      const contract = contractFor(input.table);
      const { fetched } = input;
      const store = createControlStore(deps.d1);
      const { previousRows, heldBy, heldLoadId, heldKeyIndexSha256 } = await startValidating(deps.d1, contract, {
        loadId: fetched.loadId, runId: input.runId, table: input.table, businessDate: input.businessDate,
        fileName: fetched.fileName, archivePath: fetched.archivePath, sha256: fetched.sha256, bytes: fetched.bytes,
      });

      const rejected = createRejectedRowsWriter({ store, loadId: fetched.loadId, cap: deps.rejectedRowsCap });
      // The valid rows as stage will send them, so that stage does not parse the file again.
      await pruneSpools(deps.nas, spoolKeepMs);
      const spool = await createSpoolWriter(spoolPathFor(deps.nas, input.businessDate, fetched.loadId));
      // A full snapshot is diffed against the file the warehouse holds, and indexed for the next night's diff.
      if (contract.mode === 'full') await pruneKeyIndexes(deps.nas, contract.table, keyIndexKeepMs);
      const snapshot = contract.mode === 'full'
        ? await openSnapshotDiff({ nas: deps.nas, contract, dialect: deps.dialect, businessDate: input.businessDate, loadId: fetched.loadId, heldLoadId, heldKeyIndexSha256 })
        : undefined;
      const discard = () => Promise.all([spool.discard(), snapshot?.discard()]);
      let scan: ExportScan;
      try {
        scan = await scanExport({
          path: fetched.archivePath,
          fileName: fetched.fileName,
          contract,
          dialect: deps.dialect,
          businessDate: input.businessDate,
          onRejected: (line) => rejected.add(line),
          ...(snapshot ? { known: snapshot.known } : {}),
          onRow: async (row, line, text) => {
            const values = contract.columns.map((c) => row[c.name] ?? null);
            const hash = rowHash(contract, row);
            if (!snapshot || (await snapshot.row(row, values, hash, text))) await spool.add({ line, values, hash });
          },
        });
      } catch (error) {
        await discard();
        // A file refused as a whole (malformed, wrong encoding) keeps no partial list of rejected lines.
        if (!Context.current().cancellationSignal.aborted) await store.rejectedRows.clear(fetched.loadId).catch((clearError: unknown) => log.warn('rejected rows of a refused file not removed', { loadId: fetched.loadId, error: String(clearError) }));
        throw error;
      }
      const reportPath = join(deps.nas.reports, input.businessDate, `${input.table}.json`);
      await mkdir(join(deps.nas.reports, input.businessDate), { recursive: true });
      await writeFile(reportPath, JSON.stringify({ table: input.table, businessDate: input.businessDate, file: fetched.fileName, sha256: fetched.sha256, ...scan }, null, 2));

      const where = { table: input.table, businessDate: input.businessDate, file: fetched.fileName };
      const refused = refusalOf({ contract, fetched, scan, previousRows, rejectTolerance: deps.rejectTolerance, where });
      // A file that passes has its key index complete before the request that records it.
      const indexed = refused ? undefined : await snapshot?.finish();
      // One request: the last rejected rows, their exact count and, for a file that passes, what validation counted.
      await rejected.finish(scan.rowsRejected, refused ? undefined : {
        rowsRead: scan.rowsRead, rowsValid: scan.rowsValid, controlTotalsJson: JSON.stringify(scan.controlTotals),
        ...(indexed ? { keyIndexSha256: indexed.keyIndex.sha256 } : {}),
      });
      if (refused) {
        await discard();
        throw refused;
      }
      for (const row of indexed?.closingRows ?? []) await spool.add(row);
      if (indexed?.abandoned) {
        // Stage sends the whole file from the archive (and names the repeated key's lines).
        log.info('spooling no diff', { table: input.table, businessDate: input.businessDate, loadId: fetched.loadId, why: indexed.abandoned });
        await spool.discard();
      }
      const spooled = indexed?.abandoned ? undefined : await spool.finish(indexed?.diff);
      log.info('export validated', { table: input.table, businessDate: input.businessDate, rowsRead: scan.rowsRead, rowsRejected: scan.rowsRejected, ...(indexed?.diff ? { diff: indexed.diff } : {}) });
      return {
        rowsRead: scan.rowsRead,
        rowsValid: scan.rowsValid,
        rowsRejected: scan.rowsRejected,
        controlTotals: scan.controlTotals,
        reportPath,
        heldBy,
        ...(spooled ? { spool: spooled } : {}),
        ...(indexed ? { keyIndex: indexed.keyIndex } : {}),
      };
    }));
  },
});

/** Two control-total texts (`1234.50`, point-separated, each at its own scale) are the same amount, exactly. */
function sameTotal(a: string, b: string): boolean {
  const read = (text: string) => parseDecimal(text, { scale: text.split('.')[1]?.length ?? 0, decimalSeparator: '.', unbounded: true });
  const x = read(a);
  const y = read(b);
  return x.ok && y.ok && equalDecimals(x.value, y.value);
}

/** What validation found before the scan, in the same request that starts the load. */
async function startValidating(
  d1: Pick<D1Client, 'batch'>,
  contract: TableContract,
  load: Omit<Parameters<typeof controlSql.loads.startValidatingStatement>[0], 'now'>,
): Promise<{ previousRows: number | undefined; heldBy: { incidentId: string; businessDate: string } | null; heldLoadId: string | undefined; heldKeyIndexSha256: string | undefined }> {
  const floorApplies = contract.mode === 'full' && contract.minRowRatio !== undefined;
  const results = await d1.batch<Record<string, unknown>>([
    // The load's row, its rejected rows of an earlier attempt removed (a retry stores each once).
    controlSql.loads.startValidatingStatement({ ...load, now: new Date().toISOString() }),
    controlSql.rejected.deleteRejectedRowsStatement(load.loadId),
    // An open incident holding the table back: the file is validated and archived, then deferred to it.
    controlSql.incidents.incidentHoldingQuery(contract.table),
    // A full snapshot is diffed against the file of the load the warehouse holds, by the key index recorded with it (snapshot-diff.ts).
    controlSql.watermarks.watermarkLoadQuery(contract.table),
    // A full snapshot is compared with the rows the warehouse holds now (snapshotShrank).
    ...(floorApplies ? [{ sql: `SELECT count(*) AS n FROM "${contract.table}_current"` }] : []),
  ]);
  const holding = results[2]?.results[0] as { incident_id: string; business_date: string } | undefined;
  const held = results[3]?.results[0];
  const heldLoadId = contract.mode === 'full' && typeof held?.load_id === 'string' ? held.load_id : undefined;
  return {
    heldLoadId,
    heldKeyIndexSha256: heldLoadId !== undefined && typeof held?.key_index_sha256 === 'string' ? held.key_index_sha256 : undefined,
    previousRows: floorApplies ? ((results[4]?.results[0]?.n as number | undefined) ?? 0) : undefined,
    heldBy: holding ? { incidentId: holding.incident_id, businessDate: holding.business_date } : null,
  };
}

/** Why the scanned file is refused, the first reason in the order checked; undefined when it passes. Pure. */
function refusalOf(input: { contract: TableContract; fetched: FetchedExport; scan: ExportScan; previousRows: number | undefined; rejectTolerance: number; where: { table: string; businessDate: string; file: string } }): Error | undefined {
  const { contract, fetched, scan, where } = input;
  if (contract.mode === 'full' && scan.rowsRead === 0) {
    return etlFailure('EmptyExport', 'the file has a header but no rows; a full snapshot is never empty (loading it would delete every row)', { ...where, line: 1, rule: 'a full snapshot has rows' });
  }
  if (fetched.manifest && fetched.manifest.sha256 !== fetched.sha256) {
    return etlFailure('ManifestMismatch', `sha256 of the file is ${fetched.sha256}, ${fetched.manifest.manifestFile} says ${fetched.manifest.sha256}`, { ...where, column: 'SHA256', value: fetched.sha256, rule: 'sha256 in the manifest' });
  }
  if (fetched.manifest && fetched.manifest.rows !== scan.rowsRead) {
    return etlFailure('ManifestMismatch', `the file has ${scan.rowsRead} data rows, ${fetched.manifest.manifestFile} says ${fetched.manifest.rows}`, {
      ...where,
      column: 'NB_LIGNES',
      value: String(scan.rowsRead),
      rule: 'row count in the manifest',
    });
  }
  if (scan.rowsRejected > input.rejectTolerance) {
    const first = scan.issues[0];
    return etlFailure('RowValidationFailed', `${scan.rowsRejected} of ${scan.rowsRead} rows rejected (tolerance ${input.rejectTolerance}); first: ${first?.rule ?? 'see report'}`, {
      ...where,
      ...(first ? { line: first.line, column: first.column, value: first.value, rule: first.rule } : {}),
      issues: scan.issues,
    });
  }
  for (const [name, announced] of Object.entries(fetched.manifest?.controlTotals ?? {})) {
    const inFile = scan.controlTotals[name] ?? '0';
    if (!sameTotal(inFile, announced)) {
      const source = contract.columns.find((c) => c.name === name)?.source ?? name;
      return etlFailure('ControlTotalMismatch', `the sum of ${source} over the file is ${inFile}, ${fetched.manifest!.manifestFile} announces ${announced}`, {
        ...where,
        column: source,
        value: inFile,
        rule: 'control total in the manifest',
      });
    }
  }
  return input.previousRows === undefined ? undefined : snapshotShrank(contract, scan, input.previousRows, where);
}

/**
 * A full snapshot that shrinks below the contract's floor (`minRowRatio` of the `previous` rows
 * currently in the warehouse) would tombstone the missing keys: it is refused. Pure.
 */
function snapshotShrank(contract: TableContract, scan: ExportScan, previous: number, where: { table: string; businessDate: string; file: string }): Error | undefined {
  if (previous === 0 || contract.minRowRatio === undefined) return undefined; // first load: nothing to compare with
  const floor = Math.ceil(previous * contract.minRowRatio);
  if (scan.rowsRead >= floor) return undefined;
  const percent = Math.round(contract.minRowRatio * 100);
  return etlFailure('SnapshotShrank', `the full snapshot has ${scan.rowsRead} rows where the warehouse holds ${previous}; below ${percent}% (${floor} rows) the file is refused rather than ${previous - scan.rowsRead} keys marked deleted`, {
    ...where,
    value: String(scan.rowsRead),
    rule: `at least ${percent}% of the previous day's ${previous} rows`,
  });
}
