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
import { openSpool, removeSpool, type StageSpool } from './stage-spool.ts';

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
  rowsStaged: number;
}

/** Progress a retried stage resumes from. */
interface StageProgress {
  line: number;
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
    const resumeAfter = (activityInfo().heartbeatDetails as StageProgress | undefined)?.line ?? 0;
    // One request: the tables exist, and rows an earlier attempt sent after its last heartbeat
    // (which may or may not be there) are dropped, to be resent.
    await deps.d1.batch([
      ...historyDdl(contract).map((sql) => ({ sql })),
      { sql: `DELETE FROM "_stage_${contract.table}" WHERE _load_id = ? AND _line > ?`, params: [input.loadId, resumeAfter] },
    ]);
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
        heartbeat({ line: upTo } satisfies StageProgress);
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
    // Validation's spool when it is there whole; the archived file, parsed again, when it is not.
    const spooled = input.spool ? await openSpool(input.spool, contract.columns.length) : { unusable: 'validation wrote no spool' };
    if ('rows' in spooled) {
      for await (const row of spooled.rows) await add(row.line, row.values, row.hash);
    } else {
      log.info('staging from the archived file', { table: input.table, businessDate: input.businessDate, loadId: input.loadId, why: spooled.unusable });
      await scanExport({
        path: input.archivePath,
        fileName: input.fileName,
        contract,
        dialect: deps.dialect,
        businessDate: input.businessDate,
        onRow: (row, line) => add(line, contract.columns.map((c) => (row[c.name] ?? null) as SqlValue), rowHash(contract, row)),
      });
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
      { sql: `SELECT count(*) AS n FROM "_stage_${contract.table}" WHERE _load_id = ?`, params: [input.loadId] },
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
    log.info('export staged', { table: input.table, businessDate: input.businessDate, loadId: input.loadId, rowsStaged });
    return { rowsStaged };
  },
});
