import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { bookmarkTime, isBookmark, latestAtOrBefore, newBookmark } from './bookmarks.ts';
import { HttpError, cloudflareErrorCodes } from './envelope.ts';
import { splitSqlStatements, stripLeadingComments } from '../sql-split.ts';
import { runAll, runRaw, statementRunnerScript, type RunnerResult } from './statement-runner.ts';

/** One statement of a D1 REST request. */
export interface Statement {
  sql: string;
  params?: unknown[] | undefined;
}

/** A statement's result in `query` form: rows as objects. */
export interface QueryResult {
  success: true;
  results: Record<string, unknown>[];
  meta: Record<string, unknown>;
}

/** A statement's result in `raw` form: column names and rows as arrays. */
export interface RawResult {
  success: true;
  results: { columns: string[]; rows: unknown[][] };
  meta: Record<string, unknown>;
}

/** The outcome of an import: applied whole (with each statement's meta), or not at all. */
export type ImportOutcome =
  | { ok: true; finalBookmark: string; metas: Record<string, unknown>[] }
  | { ok: false; failedIndex: number; message: string };

/**
 * One D1 database held by Miniflare, with Time Travel emulated by snapshots of its
 * persist directory. Every operation is serialised, so a snapshot never sees a
 * half-done request; this process is the only one that opens the directory.
 */
export class LocalD1Database {
  readonly #persistDir: string;
  readonly #snapshotDir: string;
  readonly #retentionMs: number;
  readonly #now: () => Date;
  #mf: Miniflare | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** The last snapshot taken, and whether anything may have written since: an unchanged state reuses its bookmark. */
  #lastSnapshot: string | undefined;
  #writtenSinceSnapshot = true;

  constructor(options: { dataDir: string; retentionDays: number; now: () => Date }) {
    this.#persistDir = join(options.dataDir, 'persist');
    this.#snapshotDir = join(options.dataDir, 'snapshots');
    this.#retentionMs = options.retentionDays * 24 * 3600 * 1000;
    this.#now = options.now;
  }

  /** Opens the database (creating its directories). */
  async open(): Promise<void> {
    await mkdir(this.#persistDir, { recursive: true });
    await mkdir(this.#snapshotDir, { recursive: true });
    await this.#start();
  }

  /** Closes Miniflare; pending operations finish first. */
  async close(): Promise<void> {
    await this.#serial(() => this.#stop());
  }

  /** Runs statements for the `query` endpoint: several statements run as one atomic batch. */
  query(statements: Statement[]): Promise<QueryResult[]> {
    return this.#serial(async () => {
      const mf = this.#requireMf();
      if (!statements.every((s) => readOnly.test(stripLeadingComments(s.sql)))) this.#writtenSinceSnapshot = true;
      const results = await runD1(() => runAll(mf, statements));
      if (results.some((r) => r.meta.changed_db === true)) this.#writtenSinceSnapshot = true;
      return results.map((r) => ({ success: true as const, results: r.results, meta: r.meta }));
    });
  }

  /** Runs statements for the `raw` endpoint: rows as arrays with column names. */
  raw(statements: Statement[]): Promise<RawResult[]> {
    return this.#serial(async () => {
      const mf = this.#requireMf();
      this.#writtenSinceSnapshot = true;
      if (statements.length === 1) {
        const started = performance.now();
        const { columns, rows } = await runD1(() => runRaw(mf, statements[0]!));
        return [{ success: true as const, results: { columns, rows }, meta: { duration: performance.now() - started } }];
      }
      // A batch keeps its atomicity; column names come from the row objects.
      const results = await runD1(() => runAll(mf, statements));
      return results.map((r) => {
        const objects = r.results;
        const columns = objects[0] ? Object.keys(objects[0]) : [];
        return { success: true as const, results: { columns, rows: objects.map((o) => columns.map((c) => o[c])) }, meta: r.meta };
      });
    });
  }

  /** Takes a snapshot now and returns its bookmark ("now" is always restorable). */
  currentBookmark(): Promise<string> {
    return this.#serial(() => this.#snapshot());
  }

  /** The latest bookmark at or before `at`, within the retention window. */
  async bookmarkAt(at: Date): Promise<string> {
    return this.#serial(async () => {
      this.#requireWithinRetention(at);
      const found = latestAtOrBefore(await this.#bookmarks(), at);
      if (!found) throw new HttpError(400, cloudflareErrorCodes.invalidRequest, `no bookmark at or before ${at.toISOString()}`);
      return found;
    });
  }

  /** Restores the whole database to a bookmark; the state it replaces stays restorable. */
  restore(bookmark: string): Promise<{ bookmark: string; previous_bookmark: string; message: string }> {
    return this.#serial(async () => {
      if (!isBookmark(bookmark) || !(await this.#bookmarks()).includes(bookmark)) {
        throw new HttpError(400, cloudflareErrorCodes.invalidRequest, `unknown bookmark: ${bookmark}`);
      }
      this.#requireWithinRetention(bookmarkTime(bookmark));
      const previous = await this.#snapshot();
      await this.#stop();
      await rm(this.#persistDir, { recursive: true, force: true });
      await cp(join(this.#snapshotDir, bookmark), this.#persistDir, { recursive: true });
      await this.#start();
      this.#writtenSinceSnapshot = true;
      return { bookmark, previous_bookmark: previous, message: `Restored database to bookmark ${bookmark}` };
    });
  }

  /**
   * Applies an import's statements as one transaction (Miniflare's batch) inside one exclusive
   * operation: queries queue until it ends. `onStarted` hears the bookmark taken just before
   * (D1's `at_bookmark`); success takes another (D1's `final_bookmark`). On failure nothing is
   * applied, and `failedIndex` names the first statement that fails.
   */
  importStatements(statements: readonly string[], onStarted: (atBookmark: string) => void): Promise<ImportOutcome> {
    return this.#serial(async () => {
      onStarted(await this.#snapshot());
      this.#writtenSinceSnapshot = true;
      const mf = this.#requireMf();
      let results: RunnerResult[];
      try {
        results = await runAll(mf, statements.map((sql) => ({ sql })));
      } catch (error) {
        return { ok: false, failedIndex: await firstFailing(mf, statements), message: errorText(error) };
      }
      return { ok: true, finalBookmark: await this.#snapshot(), metas: results.map((r) => r.meta) };
    });
  }

  /**
   * A snapshot of the current state. When nothing has written since the last one, that
   * bookmark still names the current state and is returned again (no copy): consecutive
   * imports share one snapshot between them, as their final and at bookmarks.
   */
  async #snapshot(): Promise<string> {
    const at = this.#now();
    const last = this.#lastSnapshot;
    if (!this.#writtenSinceSnapshot && last && bookmarkTime(last).getTime() >= at.getTime() - this.#retentionMs && (await this.#bookmarks()).includes(last)) return last;
    const bookmark = newBookmark(at);
    // Copied while Miniflare runs: operations are serial (#serial), so no transaction is open, and a
    // database file copied with its -wal and -shm is that state (SQLite replays the WAL on open).
    // Stopping and starting Miniflare around the copy cost 0.2 s a bookmark.
    await cp(this.#persistDir, join(this.#snapshotDir, bookmark), { recursive: true });
    await this.#pruneOlderThan(new Date(at.getTime() - this.#retentionMs));
    this.#lastSnapshot = bookmark;
    this.#writtenSinceSnapshot = false;
    return bookmark;
  }

  async #bookmarks(): Promise<string[]> {
    return (await readdir(this.#snapshotDir)).filter(isBookmark);
  }

  async #pruneOlderThan(limit: Date): Promise<void> {
    for (const b of await this.#bookmarks()) {
      if (bookmarkTime(b).getTime() < limit.getTime()) await rm(join(this.#snapshotDir, b), { recursive: true, force: true });
    }
  }

  #requireWithinRetention(at: Date): void {
    if (at.getTime() < this.#now().getTime() - this.#retentionMs) {
      throw new HttpError(400, cloudflareErrorCodes.invalidRequest, `${at.toISOString()} is older than the ${this.#retentionMs / 86_400_000}-day Time Travel retention`);
    }
  }

  async #start(): Promise<void> {
    const mf = new Miniflare({ modules: true, script: statementRunnerScript, d1Databases: { DB: 'warehouse' }, d1Persist: this.#persistDir });
    await mf.ready;
    this.#mf = mf;
  }

  async #stop(): Promise<void> {
    const mf = this.#mf;
    this.#mf = undefined;
    if (mf) await mf.dispose();
  }

  #requireMf(): Miniflare {
    if (!this.#mf) throw new HttpError(503, cloudflareErrorCodes.internalError, 'database is not open');
    return this.#mf;
  }

  #serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation, operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}

/** Statements that cannot write (anything else, DDL included, counts as a write). */
const readOnly = /^(SELECT|EXPLAIN)\b/i;

/** Runs a D1 call and turns its errors into D1's REST answer: HTTP 400, code 7500. */
async function runD1<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new HttpError(400, cloudflareErrorCodes.sqlError, errorText(error));
  }
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/^D1_ERROR:\s*/, '');
}

/**
 * The first statement of a failed batch that fails. Miniflare's error does not say which, so
 * prefixes are run with a last statement that always fails: every probe rolls back, and a
 * binary search needs about log2(n) of them.
 */
async function firstFailing(mf: Miniflare, statements: readonly string[]): Promise<number> {
  const sentinel = `__local_import_probe_${randomBytes(6).toString('hex')}`;
  const prefixRuns = async (count: number): Promise<boolean> => {
    try {
      await runAll(mf, [...statements.slice(0, count), `SELECT * FROM "${sentinel}"`].map((sql) => ({ sql })));
    } catch (error) {
      return errorText(error).includes(sentinel);
    }
    throw new Error(`import probe: table ${sentinel} exists`);
  };
  let low = 0;
  let high = statements.length - 1; // the first failing statement lies in [low, high]
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (await prefixRuns(mid + 1)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Expands a `query`/`raw` body into statements (a `sql` without params may hold several). */
export function statementsOf(body: { sql?: string | undefined; params?: unknown[] | undefined; batch?: Statement[] | undefined }): Statement[] {
  if (body.batch) return body.batch;
  const sql = body.sql ?? '';
  if (body.params && body.params.length > 0) return [{ sql, params: body.params }];
  return splitSqlStatements(sql).map((s) => ({ sql: s }));
}
