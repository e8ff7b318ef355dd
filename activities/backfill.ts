import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Context, log } from '@temporalio/activity';
import { etlFailure } from '../common/errors.ts';
import { contractFor } from '../contracts/index.ts';
import type { Dialect } from '../contracts/types.ts';
import type { D1Client, D1Param } from '../d1/client.ts';
import { D1SqlError } from '../d1/errors.ts';
import { quoteIdentifier as q, type SqlValue } from '../d1/pack.ts';
import { backfillChunkSql, backfillLoadId, revertBackfillStatements, type BackfillChunk } from '../history/backfill.ts';
import { historyDdl } from '../history/ddl.ts';
import { openDumpFile, readDumpManifest, type DumpPart, type DumpPlan } from './dump-manifest.ts';
import { scanExport } from './export-reader.ts';
import { copyHandleTo, sha256Of, sha256OfHandle } from './fetch.ts';
import { whileHeartbeating } from './keep-alive.ts';
import { archivedDumpDir, type NasLayout } from './nas.ts';
import { rowHash } from './row-hash.ts';
import { controlSql, createControlStore } from './control-store.ts';
import { applyMigrations } from './schema.ts';

/** What the backfill activities need. */
export interface BackfillDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first' | 'scalar' | 'import'>;
  dialect: Dialect;
  nas: NasLayout;
}

/** One file of the dump to validate or import. */
export interface DumpPartInput {
  dumpDir: string;
  asOf: string;
  part: DumpPart;
}

/** What validating a dump file found: its rows and control totals (every row valid, or it threw). */
export interface DumpPartReport {
  rows: number;
  controlTotals: Record<string, string>;
}

/** What importing a dump file did. */
export interface DumpPartImport {
  rows: number;
  chunks: number;
  /** Chunks an earlier attempt had already imported (after a worker died). */
  chunksSkipped: number;
}

/** A table's backfill once every file is in: rows and control totals summed over its files. */
export interface BackfilledTable {
  table: string;
  files: number;
  rows: number;
  controlTotals: Record<string, string>;
}

/** The backfill's progress a heartbeat carries (and a retry may read). */
interface ImportProgress {
  file: string;
  chunk: number;
  rows: number;
}

/**
 * The historical backfill (DESIGN §7): read the dump's manifest, prepare an empty warehouse,
 * validate every file with the nightly contracts, import them chunk by chunk through D1's
 * import API, then record the loads and watermarks. Every step is idempotent: a retried or
 * resumed import skips the chunks whose marker is in D1.
 */
export const createBackfillActivities = (deps: BackfillDeps) => {
  const store = createControlStore(deps.d1);
  /** The chunks of a file whose marker is in D1. */
  async function appliedChunks(loadId: string, file: string): Promise<Set<number>> {
    return new Set(await store.backfillChunks.applied(loadId, file));
  }

  /** One import file: the chunk's versions and its marker, all or nothing. */
  async function importChunk(chunk: BackfillChunk, where: { table: string; businessDate: string; file: string }): Promise<void> {
    try {
      await deps.d1.import(backfillChunkSql(chunk));
    } catch (error) {
      if (!(error instanceof D1SqlError) || !/UNIQUE constraint failed/i.test(error.d1Message)) throw error;
      // The marker is there: an earlier attempt's import of this chunk landed after that attempt lost track of it.
      if ((await appliedChunks(chunk.loadId, chunk.file)).has(chunk.chunk)) return;
      throw await duplicateKeyFailure(chunk, where, error.d1Message);
    }
  }

  /** Which line of the chunk repeats a key: within the chunk, or a key an earlier chunk or file already imported. */
  async function duplicateKeyFailure(chunk: BackfillChunk, where: { table: string; businessDate: string; file: string }, d1Message: string) {
    const { contract } = chunk;
    const keyIndexes = contract.key.map((k) => contract.columns.findIndex((c) => c.name === k));
    const keyOf = (values: SqlValue[]) => keyIndexes.map((i) => values[i]);
    const keyColumns = contract.key.join(', ');
    const firstLines = new Map<string, number>();
    for (const row of chunk.rows) {
      const key = keyOf(row.values).join('|');
      const earlier = firstLines.get(key);
      if (earlier !== undefined) return etlFailure('DuplicateKey', `key ${keyColumns} = ${key} appears on lines ${earlier} and ${row.line}`, { ...where, line: row.line, column: keyColumns, value: key, rule: 'key must be unique in the dump' });
      firstLines.set(key, row.line);
    }
    const perQuery = Math.floor(100 / keyIndexes.length);
    const tuple = `(${keyIndexes.map(() => '?').join(', ')})`;
    for (let i = 0; i < chunk.rows.length; i += perQuery) {
      const slice = chunk.rows.slice(i, i + perQuery);
      const [found] = await deps.d1.query<Record<string, SqlValue>>(
        `SELECT ${contract.key.map(q).join(', ')} FROM ${q(contract.table)} WHERE _is_current = 1 AND (${contract.key.map(q).join(', ')}) IN (VALUES ${slice.map(() => tuple).join(', ')}) LIMIT 1`,
        slice.flatMap((r) => keyOf(r.values)) as D1Param[],
      );
      const hit = found?.results[0];
      if (hit) {
        const key = contract.key.map((k) => hit[k]).join('|');
        const line = slice.find((r) => keyOf(r.values).join('|') === key)?.line;
        return etlFailure('DuplicateKey', `key ${keyColumns} = ${key} on line ${line} is already in the dump (an earlier line of this file, or an earlier file of ${contract.table})`, { ...where, ...(line ? { line } : {}), column: keyColumns, value: key, rule: 'key must be unique in the dump' });
      }
    }
    return etlFailure('DuplicateKey', `D1 refused lines ${chunk.firstLine}-${chunk.lastLine}: ${d1Message}`, { ...where, line: chunk.firstLine, rule: 'key must be unique in the dump' });
  }

  return {
    /** The dump's manifest, checked: its as-of date and its files. */
    planBackfill(input: { dumpDir: string }): Promise<DumpPlan> {
      return readDumpManifest(input.dumpDir, deps.dialect);
    },

    /**
     * Creates the control schema and the history tables, refuses a warehouse that already holds
     * rows another load wrote (a backfill is the first load of a table), and records each table's
     * load as importing.
     */
    async prepareBackfill(input: { plan: DumpPlan; runId: string }): Promise<void> {
      const { plan } = input;
      const tables = [...new Set(plan.parts.map((p) => p.table))];
      await applyMigrations(deps.d1);
      await deps.d1.batch(tables.flatMap((t) => historyDdl(contractFor(t))).map((sql) => ({ sql })));
      for (const table of tables) {
        const loadId = backfillLoadId(plan.asOf, table);
        const found = await deps.d1.first<{ loaded_by: string; n: number }>(`SELECT _loaded_by AS loaded_by, count(*) AS n FROM ${q(table)} WHERE _loaded_by <> ? GROUP BY _loaded_by LIMIT 1`, [loadId]);
        if (found) {
          throw etlFailure('WarehouseNotEmpty', `the warehouse already holds ${found.n} version(s) of ${table} loaded by ${found.loaded_by}; a backfill is a table's first load (roll back, or start from an empty database)`, {
            table,
            businessDate: plan.asOf,
            file: plan.manifestFile,
            rule: 'backfill into an empty table',
          });
        }
      }
      await store.loads.startImports(
        tables.map((table) => {
          const files = plan.parts.filter((p) => p.table === table);
          return { loadId: backfillLoadId(plan.asOf, table), runId: input.runId, table, asOf: plan.asOf, fileNames: files.map((f) => f.file).join(', '), dumpDir: plan.dumpDir, rowsRead: files.reduce((n, f) => n + f.rows, 0) };
        }),
      );
    },

    /**
     * Copies the validated dump into the archive (`archive/dump-<as-of>/`, never deleted), where
     * the import reads it and a rebuild finds it again. A file already there with the right
     * sha256 is kept. Each file is read through one checked descriptor (`openDumpFile`) and
     * what was copied is hashed. Returns the plan pointing at the archived copy.
     */
    archiveDump(input: { plan: DumpPlan }): Promise<DumpPlan> {
      return whileHeartbeating(async () => {
        const { plan } = input;
        const archiveDir = archivedDumpDir(deps.nas, plan.asOf);
        if (archiveDir === plan.dumpDir) return plan;
        await mkdir(archiveDir, { recursive: true });
        for (const part of plan.parts) {
          const target = join(archiveDir, part.file);
          if ((await sha256Of(target).catch(() => undefined)) === part.sha256) continue;
          await copyDumpFile(plan.dumpDir, part.file, target, { table: part.table, businessDate: plan.asOf, file: part.file }, part.sha256);
        }
        await copyDumpFile(plan.dumpDir, plan.manifestFile, join(archiveDir, plan.manifestFile), { table: 'dump', businessDate: plan.asOf, file: plan.manifestFile });
        log.info('dump archived', { asOf: plan.asOf, archiveDir });
        return { ...plan, dumpDir: archiveDir };
      });
    },

    /** Checks one dump file against its manifest line (sha256, rows) and its table's contract (every row valid). */
    validateDumpPart(input: DumpPartInput): Promise<DumpPartReport> {
      return whileHeartbeating(async () => {
        const { part } = input;
        const contract = contractFor(part.table);
        const where = { table: part.table, businessDate: input.asOf, file: part.file };
        // One checked descriptor: what is hashed is what is scanned.
        const opened = await openDumpFile(input.dumpDir, part.file, where);
        const scan = await (async () => {
          const sha256 = await sha256OfHandle(opened.handle);
          if (sha256 !== part.sha256) throw etlFailure('ManifestMismatch', `sha256 of the file is ${sha256}, the dump manifest says ${part.sha256}`, { ...where, column: 'SHA256', value: sha256, rule: 'sha256 in the dump manifest' });
          return scanExport({ path: join(input.dumpDir, part.file), opened, fileName: part.file, contract, dialect: deps.dialect, businessDate: input.asOf });
        })().finally(() => opened.handle.close());
        if (scan.rowsRead !== part.rows) {
          throw etlFailure('ManifestMismatch', `the file has ${scan.rowsRead} data rows, the dump manifest says ${part.rows}`, { ...where, column: 'NB_LIGNES', value: String(scan.rowsRead), rule: 'row count in the dump manifest' });
        }
        if (scan.rowsRejected > 0) {
          const first = scan.issues[0];
          throw etlFailure('RowValidationFailed', `${scan.rowsRejected} of ${scan.rowsRead} rows rejected; first: ${first?.rule ?? 'see the issues'}`, {
            ...where,
            ...(first ? { line: first.line, column: first.column, value: first.value, rule: first.rule } : {}),
            issues: scan.issues,
          });
        }
        log.info('dump file validated', { table: part.table, file: part.file, rows: scan.rowsRead });
        return { rows: scan.rowsRead, controlTotals: scan.controlTotals };
      }, { file: input.part.file });
    },

    /**
     * Imports one dump file through D1's import API, `chunkRows` rows per import file. Each
     * import carries its chunk's marker, so the chunks already in D1 are skipped: a retry after
     * a dead worker, or an import whose answer was lost, never duplicates a row.
     */
    async importDumpPart(input: DumpPartInput & { chunkRows: number }): Promise<DumpPartImport> {
      const { part, asOf } = input;
      const contract = contractFor(part.table);
      const loadId = backfillLoadId(asOf, part.table);
      const where = { table: part.table, businessDate: asOf, file: part.file };
      // Refused (a link, a FIFO, …) before anything is asked of D1; read through this descriptor only.
      const opened = await openDumpFile(input.dumpDir, part.file, where);
      const applied = await appliedChunks(loadId, part.file).catch(async (error: unknown) => {
        await opened.handle.close();
        throw error;
      });
      const progress: ImportProgress = { file: part.file, chunk: 0, rows: 0 };
      const result: DumpPartImport = { rows: 0, chunks: 0, chunksSkipped: 0 };
      let chunk: BackfillChunk = emptyChunk(0);

      function emptyChunk(index: number): BackfillChunk {
        return { contract, loadId, asOf, file: part.file, chunk: index, firstLine: 0, lastLine: 0, rows: [], at: '' };
      }

      const flush = async () => {
        if (chunk.rows.length === 0) return;
        if (applied.has(chunk.chunk)) {
          result.chunksSkipped += 1;
        } else {
          await importChunk({ ...chunk, at: new Date().toISOString() }, where);
          applied.add(chunk.chunk);
        }
        result.chunks += 1;
        result.rows += chunk.rows.length;
        progress.chunk = chunk.chunk + 1;
        progress.rows = result.rows;
        Context.current().heartbeat(progress);
        chunk = emptyChunk(chunk.chunk + 1);
      };

      await whileHeartbeating(async () => {
        await scanExport({
          path: join(input.dumpDir, part.file),
          opened,
          fileName: part.file,
          contract,
          dialect: deps.dialect,
          businessDate: asOf,
          onRow: async (row, line) => {
            if (chunk.rows.length === 0) chunk.firstLine = line;
            chunk.lastLine = line;
            // A chunk already imported is only counted: its rows are not rebuilt.
            chunk.rows.push(applied.has(chunk.chunk) ? { line, values: [], rowHash: '' } : { line, values: contract.columns.map((c) => (row[c.name] ?? null) as SqlValue), rowHash: rowHash(contract, row) });
            if (chunk.rows.length >= input.chunkRows) await flush();
          },
        });
        await flush();
      }, progress).finally(() => opened.handle.close());
      log.info('dump file imported', { table: part.table, file: part.file, ...result });
      return result;
    },

    /**
     * Reconciles and records the backfill: each table's versions loaded by its backfill load id
     * must equal the rows of its files; then etl_loads says verified and the watermark moves to the
     * as-of date (never backwards), in one batch.
     */
    async finishBackfill(input: { asOf: string; runId: string; archiveDir: string; tables: BackfilledTable[] }): Promise<void> {
      for (const t of input.tables) {
        const versions = (await deps.d1.scalar<number>(`SELECT count(*) AS n FROM ${q(t.table)} WHERE _loaded_by = ?`, [backfillLoadId(input.asOf, t.table)])) ?? 0;
        if (versions !== t.rows) {
          throw etlFailure('CountMismatch', `${versions} versions were imported where the dump's ${t.files} file(s) hold ${t.rows} rows`, { table: t.table, businessDate: input.asOf, value: String(versions), rule: 'imported versions = rows in the dump' });
        }
      }
      const now = new Date().toISOString();
      await deps.d1.batch(
        input.tables.flatMap((t) => {
          const loadId = backfillLoadId(input.asOf, t.table);
          return [
            controlSql.loads.markImportVerifiedStatement({ loadId, rows: t.rows, controlTotalsJson: JSON.stringify(t.controlTotals), archiveDir: input.archiveDir, now }),
            controlSql.watermarks.advanceWatermarkStatement({ table: t.table, businessDate: input.asOf, loadId, now }),
          ];
        }),
      );
    },

    /** Undoes a failed backfill: every version and chunk marker of its load ids; records its loads as failed (nothing was imported) or reverted, and why. */
    async revertBackfill(input: { asOf: string; tables: string[]; status: 'failed' | 'reverted'; errorType: string; errorDetail: string }): Promise<{ versionsDeleted: number }> {
      let versionsDeleted = 0;
      await whileHeartbeating(async () => {
        for (const table of input.tables) {
          const loadId = backfillLoadId(input.asOf, table);
          const { deleteSlice, deleteMarkers } = revertBackfillStatements(contractFor(table), loadId);
          for (;;) {
            const [deleted] = await deps.d1.batch([deleteSlice]);
            const changes = deleted?.meta.changes ?? 0;
            versionsDeleted += changes;
            if (changes === 0) break;
          }
          await deps.d1.batch([
            deleteMarkers,
            controlSql.loads.markFailedStatement({ loadId, status: input.status, errorType: input.errorType, errorDetail: input.errorDetail, now: new Date().toISOString() }),
          ]);
        }
      });
      log.warn('backfill reverted', { asOf: input.asOf, versionsDeleted });
      return { versionsDeleted };
    },
  };
};

/**
 * Copies a dump file, read through one checked descriptor, to `target` via `<target>.partial`.
 * With `sha256`, a copy whose bytes hash otherwise is not kept: ManifestMismatch.
 */
async function copyDumpFile(dumpDir: string, file: string, target: string, where: { table: string; businessDate: string; file: string }, sha256?: string): Promise<void> {
  const opened = await openDumpFile(dumpDir, file, where);
  const partial = `${target}.partial`;
  try {
    const copied = await copyHandleTo(opened.handle, partial);
    if (sha256 !== undefined && copied !== sha256) {
      await rm(partial, { force: true });
      throw etlFailure('ManifestMismatch', `the file changed while it was archived: sha256 ${copied}, the dump manifest says ${sha256}`, { ...where, column: 'SHA256', value: copied, rule: 'sha256 in the dump manifest' });
    }
    await rename(partial, target);
  } finally {
    await opened.handle.close();
  }
}
