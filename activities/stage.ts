import { activityInfo, log } from '@temporalio/activity';
import { etlFailure } from '../common/errors.ts';
import { contractFor } from '../contracts/index.ts';
import type { Dialect } from '../contracts/types.ts';
import type { D1Client, D1Result, D1Statement } from '../d1/client.ts';
import { controlSql, createControlStore } from './control-store.ts';
import { packBatchesEndingWith, packInserts, type SqlValue } from '../d1/pack.ts';
import { historyDdl } from '../history/ddl.ts';
import { storedColumns } from '../history/stored-columns.ts';
import { scanExport } from './export-reader.ts';
import { heartbeatProgress } from './keep-alive.ts';
import { rowHash } from './row-hash.ts';
import { openSpool, removeSpool, type SpooledRow, type StageSpool } from './stage-spool.ts';
import type { SpooledDiff } from './snapshot-diff.ts';
import { currentDigestQuery, digestOfAnswer, digestText, sameDigest, type RowsDigest } from '../history/current-digest.ts';

/** What staging needs. */
export interface StageDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first' | 'scalar'>;
  /** Rows buffered before they are packed and sent (one or a few requests). */
  stageChunkRows: number;
  /** Rejected lines of a load kept in etl_rejected_rows, duplicate keys included. */
  rejectedRowsCap: number;
  dialect: Dialect;
}

/** Which archived file to stage under which load id. */
export interface StageInput {
  table: string;
  businessDate: string;
  loadId: string;
  archivePath: string;
  fileName: string;
  /** The rows validation parsed (ValidationReport.spool): sent instead of parsing the file again. */
  spool?: StageSpool;
}

/** Rows now in `_stage_<table>` for the load. */
export interface StageResult {
  /** Rows sent: every valid row, or with a keyed diff (`diff`) the ones validation spooled (new and changed). */
  rowsStaged: number;
  /** Set when only the changes were staged, against the load the warehouse held. */
  diff?: KeyedDiff;
}

/** A full snapshot staged as its changes against the load whose file the warehouse holds (DESIGN §5). */
export interface KeyedDiff {
  /** The load whose key index the file was diffed against (the table's watermark). */
  against: string;
  /** Records of the file byte for byte those of that load's file: neither parsed again nor sent. */
  rowsUnchanged: number;
  /** Keys the warehouse holds that the file no longer has: sent as keys, tombstoned by the merge. */
  keysAbsent: number;
}

/** Progress a retried stage resumes from: the last line D1 has, and how the rows were chosen. */
interface StageProgress {
  line: number;
  /** `diff` when the attempt staged a keyed diff (absent in heartbeats of earlier versions: whole). */
  basis?: 'whole' | 'diff';
}

/**
 * stage: insert the file's valid rows into `_stage_<table>`, tagged with the load id,
 * as literal multi-row INSERT statements packed to D1's limits; a full snapshot that validation
 * spooled as its changes is sent as such once D1 proves it holds the file they were taken
 * against (diffRefusal), and whole from the archived file otherwise. Idempotent: a retry drops
 * whatever came after the last line it heartbeated and resumes from there, and every insert is
 * `ON CONFLICT (_load_id, _line) DO NOTHING`, so a request resent after its answer was lost
 * (applied or not) leaves each line of the file once.
 */
export const createStageActivities = (deps: StageDeps) => ({
  async stageExport(input: StageInput): Promise<StageResult> {
    const contract = contractFor(input.table);
    const where = { table: input.table, businessDate: input.businessDate, file: input.fileName };
    const progress = activityInfo().heartbeatDetails as StageProgress | undefined;
    let resumeAfter = progress?.line ?? 0;
    const spoolDiff = input.spool?.diff;
    // One request: the tables exist; rows an earlier attempt sent after its last heartbeat (which
    // may or may not be there) and its absent keys are dropped, to be resent; for a spooled diff,
    // the load the warehouse holds and the digest of its current rows.
    const ddl = historyDdl(contract).map((sql) => ({ sql }));
    const [watermark, current] = (await deps.d1.batch<Record<string, unknown>>([
      ...ddl,
      { sql: `DELETE FROM "_stage_${contract.table}" WHERE _load_id = ? AND (_line > ? OR _line <= 0)`, params: [input.loadId, resumeAfter] },
      ...(spoolDiff ? [controlSql.watermarks.watermarkLoadQuery(input.table), currentDigestQuery(contract)] : []),
    ])).slice(ddl.length + 1);
    const spooled = input.spool ? await openSpool(input.spool, contract.columns.length) : { unusable: 'validation wrote no spool' };
    const refused = spoolDiff ? diffRefusal({ diff: spoolDiff, spooled, watermarkLoadId: watermark?.results[0]?.load_id, current: digestOfAnswer(current?.results[0]) }) : undefined;
    const diffing = spoolDiff !== undefined && refused === undefined;
    if (refused) log.info('staging the whole snapshot', { table: input.table, businessDate: input.businessDate, loadId: input.loadId, why: refused });
    // An attempt that chose otherwise than this one left rows this one would not send again: start over.
    if (resumeAfter > 0 && (progress?.basis ?? 'whole') !== (diffing ? 'diff' : 'whole')) {
      await deps.d1.query(`DELETE FROM "_stage_${contract.table}" WHERE _load_id = ?`, [input.loadId]);
      resumeAfter = 0;
    }
    // A decimal travels as its units (the normalised row's value) into `<name>_units`.
    const columns = ['_load_id', '_line', ...storedColumns(contract), '_row_hash'];
    let buffer: SqlValue[][] = [];
    let lastLine = resumeAfter;
    // One chunk is sent while the next is parsed; a chunk's last line is heartbeated once D1 has it.
    let inFlight: Promise<void> = Promise.resolve();

    /** The buffered rows as inserts; (load id, line) is unique: a batch resent after D1 applied it but lost the answer adds nothing. */
    const takeInserts = () => {
      const statements = buffer.length > 0 ? packInserts({ table: `_stage_${contract.table}`, columns, rows: buffer, mode: 'literal', onConflictDoNothing: ['_load_id', '_line'] }) : [];
      buffer = [];
      return { statements, upTo: lastLine };
    };
    /** Sends the inserts, then `closing` whole at the end of the last batch; answers the closing statements' results. */
    const send = async ({ statements, upTo }: ReturnType<typeof takeInserts>, closing: D1Statement[] = []) => {
      let answers: D1Result<Record<string, unknown>>[] = [];
      for (const batch of packBatchesEndingWith(statements, closing)) answers = await deps.d1.batch(batch);
      // A local activity (a small file) has no heartbeats: its retry stages the file from the start.
      if (statements.length > 0) heartbeatProgress({ line: upTo, basis: diffing ? 'diff' : 'whole' } satisfies StageProgress);
      return answers.slice(answers.length - closing.length);
    };
    const flush = async () => {
      if (buffer.length === 0) return;
      const inserts = takeInserts();
      await inFlight;
      const sending = send(inserts).then(() => undefined);
      sending.catch(() => undefined); // observed by the next flush or the final await
      inFlight = sending;
    };

    // A line of the file (1 and up) is sent once: a retry resumes after the last one heartbeated.
    // A diff's absent keys and its mark (lines 0 and below, the spool's last rows) are always resent.
    const add = async (line: number, values: SqlValue[], hash: string) => {
      if (line > 0) {
        if (line <= resumeAfter) return;
        lastLine = line;
      }
      buffer.push([input.loadId, line, ...values, hash]);
      if (buffer.length >= deps.stageChunkRows) await flush();
    };
    if ('rows' in spooled && (diffing || !spoolDiff)) {
      // Validation's spool when it is there whole: the file's valid rows, or the diff's.
      for await (const row of spooled.rows) await add(row.line, row.values as SqlValue[], row.hash);
    } else {
      // The archived file, parsed again: no spool, or not a whole one, or a diff D1 cannot take.
      log.info('staging from the archived file', { table: input.table, businessDate: input.businessDate, loadId: input.loadId, why: 'unusable' in spooled ? spooled.unusable : 'the spool holds a diff' });
      await scanExport({
        path: input.archivePath,
        fileName: input.fileName,
        contract,
        dialect: deps.dialect,
        businessDate: input.businessDate,
        onRow: (row, line) => add(line, contract.columns.map((c) => (row[c.name] ?? null) as SqlValue), rowHash(contract, row)),
      });
    }
    const diff: KeyedDiff | undefined = diffing ? { against: spoolDiff.against, rowsUnchanged: spoolDiff.rowsUnchanged, keysAbsent: spoolDiff.keysAbsent } : undefined;

    const keyList = contract.key.map((k) => `"${k}"`).join(', ');
    // In the request of the last rows: the duplicated keys, the staged count, and the load marked
    // staged with that count (a load with duplicates fails right after, and its failure is recorded over the mark).
    const closing: D1Statement[] = [
      {
        sql: `SELECT ${contract.key.map((k) => `"${k}"`).join(" || '|' || ")} AS key, group_concat(_line) AS lines
       FROM "_stage_${contract.table}" WHERE _load_id = ? GROUP BY ${keyList} HAVING count(*) > 1 LIMIT 100`,
        params: [input.loadId],
      },
      { sql: `SELECT count(*) AS n FROM "_stage_${contract.table}" WHERE _load_id = ? AND _line > 0`, params: [input.loadId] },
      controlSql.loads.markStagedStatement(input.loadId, `_stage_${contract.table}`),
    ];
    const last = takeInserts();
    await inFlight;
    const [duplicates, staged] = (await send(last, closing)) as [D1Result<{ key: string; lines: string }>, D1Result<{ n: number }>];
    // The rows are in D1: the spool has served (a retry from here on parses the archived file).
    if (input.spool) await removeSpool(input.spool);
    const first = duplicates?.results[0];
    if (first) {
      // Every duplicate line (not only these 100) joins the load's rejected rows, for `warehouse rejects`.
      await createControlStore(deps.d1).rejectedRows.storeDuplicateKeys({
        loadId: input.loadId,
        stageTable: `_stage_${contract.table}`,
        key: contract.key,
        keySources: contract.key.map((k) => contract.columns.find((c) => c.name === k)?.source ?? k),
        cap: deps.rejectedRowsCap,
      });
      const lines = first.lines.split(',').map(Number).sort((a, b) => a - b);
      throw etlFailure('DuplicateKey', `key ${contract.key.join(', ')} = ${first.key} appears on lines ${lines.join(', ')} (${duplicates.results.length} duplicated key(s))`, {
        ...where,
        line: lines[1],
        column: contract.key.join(', '),
        value: first.key,
        rule: 'key must be unique in the file',
        issues: duplicates.results.map((d) => ({ line: Number(d.lines.split(',').map(Number).sort((a, b) => a - b)[1]), column: contract.key.join(', '), value: d.key, rule: 'duplicate key' })),
      });
    }

    const rowsStaged = staged?.results[0]?.n ?? 0;
    log.info('export staged', { table: input.table, businessDate: input.businessDate, loadId: input.loadId, rowsStaged, ...diff });
    return { rowsStaged, ...(diff ? { diff } : {}) };
  },
});

/**
 * Why a spooled diff cannot be staged, or undefined when it can: the spool must be there whole,
 * the table must still hold the load the file was diffed against (its watermark), and the digest
 * of the table's current rows in D1 must be that load's file's digest, which proves the warehouse
 * holds exactly that file (a hand edit, a rewind or a load in between shows as a mismatch). Pure.
 */
function diffRefusal(input: { diff: SpooledDiff; spooled: { rows: AsyncIterable<SpooledRow> } | { unusable: string }; watermarkLoadId: unknown; current: RowsDigest }): string | undefined {
  const { diff } = input;
  if ('unusable' in input.spooled) return input.spooled.unusable;
  if (input.watermarkLoadId !== diff.against) return `the table holds load ${String(input.watermarkLoadId)}, not load ${diff.against} the file was diffed against`;
  if (!sameDigest(diff.heldDigest, input.current)) {
    return `the warehouse's current rows (${digestText(input.current)}) are not the file of load ${diff.against} (${digestText(diff.heldDigest)})`;
  }
  return undefined;
}
