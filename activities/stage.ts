import { activityInfo, heartbeat, log } from '@temporalio/activity';
import { etlFailure } from '../common/errors.ts';
import { contractFor } from '../contracts/index.ts';
import type { Dialect } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import { controlSql, createControlStore } from './control-store.ts';
import { packBatches, packInserts, type SqlValue } from '../d1/pack.ts';
import { historyDdl } from '../history/ddl.ts';
import { storedColumns } from '../history/stored-columns.ts';
import { scanExport } from './export-reader.ts';
import { rowHash } from './row-hash.ts';
import { openSpool, removeSpool, type SpooledRow, type StageSpool } from './stage-spool.ts';
import { keyIndexPathFor, keyOf, keyPositions, readKeyIndex } from './key-index.ts';
import { currentDigestQuery, digestOfAnswer, digestText, sameDigest } from '../history/current-digest.ts';
import { absentKeyLine, deltaSentinelLine } from '../history/merge.ts';
import type { NasLayout } from './nas.ts';

/** What staging needs. */
export interface StageDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first' | 'scalar'>;
  /** Rows buffered before they are packed and sent (one or a few requests). */
  stageChunkRows: number;
  /** Rejected lines of a load kept in etl_rejected_rows, duplicate keys included. */
  rejectedRowsCap: number;
  dialect: Dialect;
  /** Where the key indexes of earlier loads are (key-index.ts). */
  nas: NasLayout;
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
  /** Rows sent: every valid row, or with a keyed diff (`diff`) the new and changed ones. */
  rowsStaged: number;
  /** Set when only the changes were staged, against the load the warehouse held. */
  diff?: KeyedDiff;
}

/** A full snapshot staged as its changes against the load whose file the warehouse holds (DESIGN §5). */
export interface KeyedDiff {
  /** The load whose key index the file was diffed against (the table's watermark). */
  against: string;
  /** Rows of the file identical to the warehouse's current version: not sent. */
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
 * as literal multi-row INSERT statements packed to D1's limits. Idempotent: a retry drops
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
    const diffable = contract.mode === 'full';
    // One request: the tables exist; rows an earlier attempt sent after its last heartbeat (which
    // may or may not be there) and its absent keys are dropped, to be resent; for a full snapshot,
    // the load the warehouse holds and the digest of its current rows.
    const ddl = historyDdl(contract).map((sql) => ({ sql }));
    const [watermark, current] = (await deps.d1.batch<Record<string, unknown>>([
      ...ddl,
      { sql: `DELETE FROM "_stage_${contract.table}" WHERE _load_id = ? AND (_line > ? OR _line <= 0)`, params: [input.loadId, resumeAfter] },
      ...(diffable ? [controlSql.watermarks.watermarkLoadQuery(input.table), currentDigestQuery(contract)] : []),
    ])).slice(ddl.length + 1);
    const spooled = input.spool ? await openSpool(input.spool, contract.columns.length) : { unusable: 'validation wrote no spool' };
    const basis = diffable ? await diffBasis({ deps, table: input.table, spooled, watermarkLoadId: watermark?.results[0]?.load_id, current: digestOfAnswer(current?.results[0]) }) : undefined;
    let diffing = basis !== undefined && 'hashes' in basis;
    if (basis && 'why' in basis) log.info('staging the whole snapshot', { table: input.table, businessDate: input.businessDate, loadId: input.loadId, why: basis.why });
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

    const flush = async () => {
      if (buffer.length === 0) return;
      // (load id, line) is unique: a batch resent after D1 applied it but lost the answer adds nothing.
      const statements = packInserts({ table: `_stage_${contract.table}`, columns, rows: buffer, mode: 'literal', onConflictDoNothing: ['_load_id', '_line'] });
      const upTo = lastLine;
      buffer = [];
      await inFlight;
      const sending = (async () => {
        for (const batch of packBatches(statements)) await deps.d1.batch(batch);
        heartbeat({ line: upTo, basis: diffing ? 'diff' : 'whole' } satisfies StageProgress);
      })();
      sending.catch(() => undefined); // observed by the next flush or the final await
      inFlight = sending;
    };

    const add = async (line: number, values: SqlValue[], hash: string) => {
      if (line <= resumeAfter) return;
      buffer.push([input.loadId, line, ...values, hash]);
      lastLine = line;
      if (buffer.length >= deps.stageChunkRows) await flush();
    };
    const stageWhole = async (from: typeof spooled) => {
      if ('rows' in from) {
        // Validation's spool when it is there whole; the archived file, parsed again, when it is not.
        for await (const row of from.rows) await add(row.line, row.values as SqlValue[], row.hash);
        return;
      }
      log.info('staging from the archived file', { table: input.table, businessDate: input.businessDate, loadId: input.loadId, why: from.unusable });
      await scanExport({
        path: input.archivePath,
        fileName: input.fileName,
        contract,
        dialect: deps.dialect,
        businessDate: input.businessDate,
        onRow: (row, line) => add(line, contract.columns.map((c) => (row[c.name] ?? null) as SqlValue), rowHash(contract, row)),
      });
    };
    let diff: KeyedDiff | undefined;
    if (diffing && 'rows' in spooled && basis && 'hashes' in basis) {
      // The keyed diff: a row whose key the warehouse holds with the same hash is not sent; the
      // keys left over are absent from the file, sent as keys (negative lines) with the mark that
      // tells the merge this load is a diff (line 0, sent last: a stage cut short has no mark).
      const held = basis.hashes;
      let rowsUnchanged = 0;
      let repeated: string | undefined;
      for await (const row of spooled.rows) {
        const key = keyOf(contract, row.values);
        const was = held.get(key);
        if (was === seen) {
          repeated = key;
          break;
        }
        held.set(key, seen);
        if (was === row.hash) rowsUnchanged += 1;
        else await add(row.line, row.values as SqlValue[], row.hash);
      }
      if (repeated === undefined) {
        const positions = keyPositions(contract);
        let keysAbsent = 0;
        for (const [key, hash] of held) {
          if (hash === seen) continue;
          keysAbsent += 1;
          buffer.push([input.loadId, absentKeyLine(keysAbsent), ...absentKeyValues(contract.columns.length, positions, key), '']);
        }
        buffer.push([input.loadId, deltaSentinelLine, ...contract.columns.map(() => null), `diff against ${basis.against}`]);
        diff = { against: basis.against, rowsUnchanged, keysAbsent };
      } else {
        // A key the file repeats: the whole file is staged, and the check below names every line of it.
        log.info('staging the whole snapshot', { table: input.table, businessDate: input.businessDate, loadId: input.loadId, why: `the file repeats key ${repeated}` });
        buffer = [];
        await inFlight;
        await deps.d1.query(`DELETE FROM "_stage_${contract.table}" WHERE _load_id = ?`, [input.loadId]);
        diffing = false;
        resumeAfter = 0;
        lastLine = 0;
        await stageWhole(await openSpool(input.spool!, contract.columns.length));
      }
    } else {
      await stageWhole(spooled);
    }
    await flush();
    await inFlight;

    const keyList = contract.key.map((k) => `"${k}"`).join(', ');
    // One request: the duplicated keys, the staged count, and the load marked staged with that count
    // (a load with duplicates fails right after, and its failure is recorded over the mark).
    const [duplicates, staged] = await deps.d1.batch<{ key: string; lines: string } & { n: number }>([
      {
        sql: `SELECT ${contract.key.map((k) => `"${k}"`).join(" || '|' || ")} AS key, group_concat(_line) AS lines
       FROM "_stage_${contract.table}" WHERE _load_id = ? GROUP BY ${keyList} HAVING count(*) > 1 LIMIT 100`,
        params: [input.loadId],
      },
      { sql: `SELECT count(*) AS n FROM "_stage_${contract.table}" WHERE _load_id = ? AND _line > 0`, params: [input.loadId] },
      controlSql.loads.markStagedStatement(input.loadId, `_stage_${contract.table}`),
    ]);
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

/** The mark of a key the diff has met in the file. */
const seen = '';

/**
 * Whether a full snapshot can be staged as a keyed diff, and against what: the key index of the
 * load the warehouse holds (its watermark), when validation's spool is whole and the index's digest
 * is the digest of the table's current rows in D1, which proves the warehouse holds exactly that
 * file (a hand edit, a rewind or a lost index shows as a mismatch). Otherwise why not.
 */
async function diffBasis(input: {
  deps: StageDeps;
  table: string;
  spooled: { rows: AsyncIterable<SpooledRow> } | { unusable: string };
  watermarkLoadId: unknown;
  current: ReturnType<typeof digestOfAnswer>;
}): Promise<{ against: string; hashes: Map<string, string> } | { why: string }> {
  if ('unusable' in input.spooled) return { why: input.spooled.unusable };
  if (typeof input.watermarkLoadId !== 'string') return { why: 'the table holds no load yet' };
  const index = await readKeyIndex(keyIndexPathFor(input.deps.nas, input.table, input.watermarkLoadId));
  if ('unusable' in index) return { why: index.unusable };
  if (!sameDigest(index.digest, input.current)) {
    return { why: `the warehouse's current rows (${digestText(input.current)}) are not the file of load ${input.watermarkLoadId} (${digestText(index.digest)})` };
  }
  return { against: input.watermarkLoadId, hashes: index.hashes };
}

/** A stage row's business values for an absent key: the key's values in place, NULL elsewhere. */
function absentKeyValues(columnCount: number, positions: number[], key: string): SqlValue[] {
  const values: SqlValue[] = Array.from({ length: columnCount }, () => null);
  (JSON.parse(key) as SqlValue[]).forEach((value, i) => (values[positions[i]!] = value));
  return values;
}
