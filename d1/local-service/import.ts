/**
 * D1's bulk import API, emulated: `POST .../import` with `init`, `ingest` and `poll`, and the
 * upload URLs `init` hands out. Like Cloudflare's, an import is literal SQL, each statement at
 * most 100,000 bytes, no transaction control, applied all or nothing; and while it runs the
 * database serves no queries (see `refuseQueriesWhileActive`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { D1_MAX_STATEMENT_BYTES } from '../limits.ts';
import { splitSqlStatements, stripLeadingComments } from '../sql-split.ts';
import type { ImportOutcome, LocalD1Database } from './database.ts';
import { HttpError, cloudflareErrorCodes } from './envelope.ts';

/** Path of the upload URLs on the local service; the unguessable filename that follows is the credential. */
export const importUploadPrefix = '/__local/import-upload/';

const md5Hex = z.string().regex(/^[0-9a-fA-F]{32}$/, 'an md5 digest in hex').transform((s) => s.toLowerCase());
const importBodySchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('init'), etag: md5Hex }),
  z.object({ action: z.literal('ingest'), etag: md5Hex, filename: z.string().min(1) }),
  z.object({ action: z.literal('poll'), current_bookmark: z.string().min(1) }),
]);

/** Statements D1 refuses in an import, which is one transaction of its own. */
const transactionControl = /^(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;

/** An upload URL handed out by `init`: the etag it was asked for, then the bytes, then the import. */
interface Upload {
  etag: string;
  bytes?: Buffer;
  /** Resolves to the import's `at_bookmark`; shared by repeated ingests (e.g. after a lost answer). */
  started?: Promise<string>;
}

/** What `poll` reports about one import. */
type ImportState =
  | { status: 'active' }
  | { status: 'complete'; result: { final_bookmark: string; num_queries: number; meta: Record<string, unknown> } }
  | { status: 'error'; error: string };

/** The import API of one local database: upload slots and imports, in memory. */
export class LocalImports {
  readonly #database: LocalD1Database;
  readonly #uploadUrl: (filename: string) => string;
  readonly #uploads = new Map<string, Upload>();
  /** Imports by `at_bookmark`, which `poll` names as `current_bookmark`. */
  readonly #imports = new Map<string, ImportState>();

  constructor(options: { database: LocalD1Database; uploadUrl: (filename: string) => string }) {
    this.#database = options.database;
    this.#uploadUrl = options.uploadUrl;
  }

  /** Answers `POST .../import`: the `result` of an init, ingest or poll. */
  async handle(body: unknown): Promise<object> {
    const parsed = importBodySchema.safeParse(body);
    if (!parsed.success) throw new HttpError(400, cloudflareErrorCodes.invalidRequest, `invalid import request: ${z.prettifyError(parsed.error)}`);
    const request = parsed.data;
    if (request.action === 'init') return this.#init(request.etag);
    if (request.action === 'ingest') return this.#ingest(request.etag, request.filename);
    return this.#report(request.current_bookmark);
  }

  /**
   * Refuses a query or raw request while an import is active, as D1 does: Cloudflare documents
   * that "imports block the D1 for their duration" and that the database is "unavailable to
   * serve queries" meanwhile (the import API's description; wrangler's warning), but not the
   * answer a query then gets. HTTP 503, code 7500 and this message are our assumption (see
   * schema/README.md); any 5xx is transient for the client, so the caller retries later.
   */
  refuseQueriesWhileActive(): void {
    const active = [...this.#imports].find(([, state]) => state.status === 'active')?.[0];
    if (active === undefined) return;
    throw new HttpError(503, cloudflareErrorCodes.sqlError, `D1 database unavailable: an import is running (at_bookmark ${active}), and the database serves no queries until it ends`);
  }

  /** Keeps the bytes PUT to an upload URL and returns their md5, the ETag R2 answers with. */
  store(filename: string, bytes: Buffer): string {
    const upload = this.#uploads.get(filename);
    if (!upload || upload.started) throw new HttpError(404, cloudflareErrorCodes.notFound, 'no upload URL by that name');
    upload.bytes = bytes;
    return md5(bytes);
  }

  #init(etag: string): object {
    const filename = `${randomBytes(24).toString('hex')}.sql`;
    this.#uploads.set(filename, { etag });
    return { filename, upload_url: this.#uploadUrl(filename) };
  }

  async #ingest(etag: string, filename: string): Promise<object> {
    const upload = this.#uploads.get(filename);
    if (!upload) return refused(`no upload by the name ${filename}`);
    if (!upload.started) {
      if (!upload.bytes) return refused('nothing was uploaded to the upload_url of this import');
      const actual = md5(upload.bytes);
      if (actual !== etag || etag !== upload.etag) {
        return refused(`the uploaded file's md5 is ${actual}, but the etag given is ${etag} (init asked for ${upload.etag})`);
      }
      upload.started = this.#start(splitSqlStatements(upload.bytes.toString('utf8')));
      upload.bytes = undefined;
    }
    return this.#report(await upload.started);
  }

  /** Starts an import and returns its `at_bookmark` without waiting for it to end. */
  async #start(statements: string[]): Promise<string> {
    const refusal = findRefusal(statements);
    if (refusal) {
      const atBookmark = await this.#database.currentBookmark();
      this.#imports.set(atBookmark, { status: 'error', error: refusal });
      return atBookmark;
    }
    let markStarted!: (atBookmark: string) => void;
    const started = new Promise<string>((resolve) => (markStarted = resolve));
    const outcome = this.#database.importStatements(statements, markStarted);
    const atBookmark = await Promise.race([started, outcome.then(() => started)]);
    this.#imports.set(atBookmark, { status: 'active' });
    void outcome.then(
      (o) => this.#imports.set(atBookmark, stateOf(o, statements)),
      (error: unknown) => this.#imports.set(atBookmark, { status: 'error', error: `import failed: ${String(error)}` }),
    );
    return atBookmark;
  }

  /** The ingest/poll answer for the import at `atBookmark`. */
  #report(atBookmark: string): object {
    const state = this.#imports.get(atBookmark);
    if (!state) return refused(`no import at bookmark ${atBookmark}`);
    const report = { success: true, type: 'import', at_bookmark: atBookmark, messages: [] as string[], errors: [] as string[] };
    if (state.status === 'error') return { ...report, status: 'error', error: state.error, errors: [state.error] };
    return { ...report, ...state };
  }
}

/** D1's answer when it refuses an ingest or a poll outright (in a successful envelope, as wrangler reads it). */
function refused(error: string): object {
  return { success: false, error };
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** Why D1 would refuse these statements before running any, or undefined. */
function findRefusal(statements: readonly string[]): string | undefined {
  if (statements.length === 0) return 'the file holds no SQL statement';
  for (const [index, sql] of statements.entries()) {
    const bytes = Buffer.byteLength(sql);
    if (bytes > D1_MAX_STATEMENT_BYTES) {
      return statementError(statements, index, `statement too long: ${bytes} bytes, over the limit of ${D1_MAX_STATEMENT_BYTES}: SQLITE_TOOBIG`);
    }
    const control = transactionControl.exec(stripLeadingComments(sql))?.[1];
    if (control) {
      return statementError(statements, index, `${control.toUpperCase()} is not allowed: an import runs as one transaction, so remove BEGIN, COMMIT and SAVEPOINT: SQLITE_AUTH`);
    }
  }
  return undefined;
}

function stateOf(outcome: ImportOutcome, statements: readonly string[]): ImportState {
  if (!outcome.ok) return { status: 'error', error: statementError(statements, outcome.failedIndex, outcome.message) };
  return { status: 'complete', result: { final_bookmark: outcome.finalBookmark, num_queries: statements.length, meta: totalMeta(outcome.metas) } };
}

/** An error naming the statement's position (from 1) and its beginning; the client reads the position back. */
function statementError(statements: readonly string[], index: number, reason: string): string {
  const text = (statements[index] ?? '').replace(/\s+/g, ' ');
  const start = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return `Error in statement ${index + 1} of ${statements.length} (${start}): ${reason}`;
}

/** One meta for the whole import, in the shape of a statement's meta. */
function totalMeta(metas: readonly Record<string, unknown>[]): Record<string, unknown> {
  const sum = (key: string): number => metas.reduce((total, m) => total + (typeof m[key] === 'number' ? m[key] : 0), 0);
  const last = metas.at(-1) ?? {};
  return {
    served_by: last.served_by,
    duration: sum('duration'),
    changes: sum('changes'),
    last_row_id: last.last_row_id,
    changed_db: metas.some((m) => m.changed_db === true),
    size_after: last.size_after,
    rows_read: sum('rows_read'),
    rows_written: sum('rows_written'),
  };
}
