/**
 * The one D1 REST client (undici). Locally it points at the local D1 service, in production at
 * Cloudflare. It classifies every failure before anything else: D1's transient faults (429, 5xx,
 * 408, edge HTML pages, `Network connection lost`, `internal error; reference = …` on HTTP 400,
 * 7429 overloaded, …) become retryable errors before an answer is taken for an SQL or an auth
 * error; a non-SQL 400 is D1RequestInvalid. It never lets the token leak.
 *
 * One retry layer: inside a Temporal activity (`retries: 'auto'`, the default) the activity's
 * retry policy owns retries, and the client itself only retries a connection that never reached
 * D1 (refused, DNS failure): everything else surfaces at once as a typed error. Outside an
 * activity (the CLI, scripts, conformance tests) there is no outer layer, so the client retries
 * every transient fault with exponential backoff and jitter and honours Retry-After.
 *
 * Large integers: JSON numbers lose precision above 2^53. Bigint parameters are sent as
 * strings (SQLite's INTEGER affinity turns them back into integers on insert); read such
 * values back with `CAST(x AS TEXT)`.
 *
 * Retries resend the request. A timed-out or 5xx request may still have run on the server, so
 * callers must make their writes idempotent (keys + INSERT OR IGNORE, or revert by load id).
 *
 * Cancellation: every request, backoff sleep and import poll carries an abort signal, the
 * client's own (`signal`) and, inside a Temporal activity, the activity's cancellation signal
 * (a worker shutting down, a workflow cancelling the activity). An aborted call is not retried:
 * it throws the signal's reason (the activity's CancelledFailure), never a D1 error, so the
 * activity ends as cancelled and Temporal retries it on the next worker.
 *
 * `import` uses D1's bulk import API: init, PUT the SQL file to the upload URL D1 hands out
 * (presigned: the token is never sent there), ingest, then poll until the import ends.
 */
import { createHash } from 'node:crypto';
import { asyncLocalStorage as activityContext } from '@temporalio/activity';
import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { activityCancellation, sleepUnlessCancelled } from './cancellation.ts';
import {
  D1AuthError,
  D1RateLimited,
  D1RequestInvalid,
  D1ResponseError,
  D1SqlError,
  D1Transient,
  D1Unavailable,
  isTransientD1Error,
  type D1Error,
  type D1ErrorContext,
} from './errors.ts';

/** A bound parameter as the client accepts it (bigint → string, boolean → 1/0 on the wire). */
export type D1Param = string | number | bigint | boolean | null;

/** One SQL statement with its bound parameters. */
export interface D1Statement {
  sql: string;
  params?: readonly D1Param[];
}

/** D1's per-statement metadata (more fields may be present). */
export interface D1Meta {
  changes: number;
  last_row_id: number;
  rows_read: number;
  rows_written: number;
  duration: number;
  [key: string]: unknown;
}

/** Result of one statement from `/query`: rows as objects. */
export interface D1Result<Row> {
  success: boolean;
  results: Row[];
  meta: D1Meta;
}

/** Result of one statement from `/raw`: column names and rows as arrays. */
export interface D1RawResult {
  success: boolean;
  columns: string[];
  rows: unknown[][];
  meta: D1Meta;
}

/** Outcome of a Time Travel restore. `previousBookmark` undoes the restore. */
export interface D1RestoreResult {
  bookmark: string;
  previousBookmark: string;
  message: string;
}

/** Options of `import`. */
export interface D1ImportOptions {
  /** Longest wait between two polls of a running import (default 1 s); the first polls come sooner (25 ms, doubling). */
  pollIntervalMs?: number;
  /** Longest the whole import may take, upload and polls included (default 15 min). */
  timeoutMs?: number;
}

/** Outcome of a bulk import that completed. */
export interface D1ImportResult {
  /** Statements D1 ran. */
  numQueries: number;
  /** Time Travel bookmark of the state right after the import. */
  finalBookmark: string;
  /** Bookmark of the state just before the import: restoring it undoes the import (and whatever came after). */
  atBookmark: string;
  /** Totals of the import (rows read and written, duration, size after). */
  meta: D1Meta;
  /** D1's progress messages, in order. */
  messages: string[];
}

/** Why an attempt is being retried. */
export type D1RetryReason = 'rate-limited' | 'server-error' | 'transient' | 'connection' | 'timeout';

/**
 * Which failures the client retries itself. `unsent-only`: only a connection that never reached
 * D1 (nothing can have been applied); `transient`: every transient fault; `auto` (default):
 * `unsent-only` inside a Temporal activity, whose retry policy is then the one retry layer,
 * `transient` elsewhere.
 */
export type D1RetryMode = 'auto' | 'unsent-only' | 'transient';

/** What `onRetry` hears before each backoff sleep (never the token). */
export interface D1RetryInfo {
  operation: string;
  path: string;
  /** The attempt that just failed, from 1. */
  attempt: number;
  delayMs: number;
  reason: D1RetryReason;
  status?: number;
  detail: string;
}

/** Retry policy of the client. */
export interface D1RetryOptions {
  /** Total HTTP attempts per call, including the first (default 6). */
  maxAttempts?: number;
  /** First backoff delay (default 250 ms); doubles per attempt, with jitter. */
  baseDelayMs?: number;
  /** Cap of the exponential backoff (default 10 s); a Retry-After may exceed it. */
  maxDelayMs?: number;
  /** A Retry-After longer than this (default 60 s) is not waited out: D1RateLimited is thrown at once. */
  maxRetryAfterMs?: number;
}

/** Options of `createD1Client`. */
export interface D1ClientOptions {
  /** e.g. `https://api.cloudflare.com/client/v4` or `http://127.0.0.1:PORT/client/v4`. */
  baseUrl: string;
  accountId: string;
  databaseId: string;
  apiToken: string;
  /** Per-attempt timeout (default 30 s, D1's own request limit). */
  timeoutMs?: number;
  retry?: D1RetryOptions;
  /** Which failures the client retries itself (default `auto`). */
  retries?: D1RetryMode;
  /** Called before each retry sleep, e.g. to log or heartbeat. */
  onRetry?: (info: D1RetryInfo) => void;
  /** undici dispatcher to use instead of the global one. */
  dispatcher?: Dispatcher;
  /** Aborts every call made through this client (e.g. the CLI's Ctrl-C); an activity's cancellation applies anyway. */
  signal?: AbortSignal;
}

/** A D1 database reached over the REST API. */
export interface D1Client {
  /** Runs SQL (several `;`-separated statements allowed); one result per statement. */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly D1Param[]): Promise<D1Result<Row>[]>;
  /** The first row of one statement's answer, or undefined when it has none (same retries as `query`). */
  first<Row = Record<string, unknown>>(sql: string, params?: readonly D1Param[]): Promise<Row | undefined>;
  /** The first column of the first row of one statement's answer (e.g. a `count(*)`), or undefined when no row. */
  scalar<T = number>(sql: string, params?: readonly D1Param[]): Promise<T | undefined>;
  /** Runs statements as one request (`{batch: [...]}`); one result per statement. */
  batch<Row = Record<string, unknown>>(statements: readonly D1Statement[]): Promise<D1Result<Row>[]>;
  /** Like `query`, with rows as arrays under their column names (`/raw`). */
  raw(sql: string, params?: readonly D1Param[]): Promise<D1RawResult[]>;
  /** The Time Travel bookmark for now, or for the latest state at or before `timestamp`. */
  bookmark(timestamp?: Date): Promise<string>;
  /** Restores the whole database to a bookmark or a timestamp. */
  restore(target: { bookmark: string } | { timestamp: Date }): Promise<D1RestoreResult>;
  /**
   * Runs a SQL file (literal SQL, no parameters) through D1's bulk import API: all or nothing,
   * and D1 serves no queries meanwhile. A failing statement throws D1SqlError with its
   * `statementIndex` when D1's message names it. Past `timeoutMs` it throws D1Unavailable
   * (timeout) while the import may still complete: its message gives the `at_bookmark` to check.
   */
  import(sql: string, options?: D1ImportOptions): Promise<D1ImportResult>;
}

/**
 * Cloudflare codes meaning the credentials were refused, whatever the HTTP status (a malformed or
 * unknown token can come back as HTTP 400): invalid token, invalid request headers / Authorization
 * format, unauthorised for the resource, authentication error, unable to authenticate.
 */
const AUTH_ERROR_CODES = new Set([1000, 6003, 6111, 7403, 9106, 9109, 10000, 10001]);

/** Codes a connection error has when it never reached D1, so no request was sent: safe to resend at once. */
const UNSENT_ERROR_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/** What to tell an operator to check when D1 refuses a request (not its SQL), by Cloudflare code. */
function requestCheck(code: number | undefined, status: number): string {
  if (code === 7404 || code === 7003 || code === 7000 || status === 404) return 'check D1_API_URL, CLOUDFLARE_ACCOUNT_ID and D1_DATABASE_ID (the database or the route was not found)';
  if (code === 7400) return 'D1 says the request is malformed: check D1_DATABASE_ID and the request body (a bookmark or timestamp must be one D1 handed out)';
  return 'check D1_API_URL, CLOUDFLARE_ACCOUNT_ID, D1_DATABASE_ID and the request';
}

const DEFAULTS = {
  timeoutMs: 30_000,
  maxAttempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
  importPollIntervalMs: 1_000,
  importTimeoutMs: 15 * 60_000,
};

// Response shapes. Counters are tolerant of null/missing (the API documents them as optional).
const counter = z.number().nullish().transform((v) => v ?? 0);
const metaSchema = z.preprocess(
  (v) => v ?? {},
  z.object({ changes: counter, last_row_id: counter, rows_read: counter, rows_written: counter, duration: counter }).loose(),
);
const envelopeSchema = z.object({
  success: z.boolean(),
  errors: z.array(z.object({ code: z.number(), message: z.string() }).loose()).nullish(),
  result: z.unknown(),
});
const queryResultSchema = z.array(
  z.object({
    success: z.boolean(),
    results: z.array(z.record(z.string(), z.unknown())).nullish().transform((v) => v ?? []),
    meta: metaSchema,
  }),
);
const rawResultSchema = z.array(
  z.object({
    success: z.boolean(),
    results: z
      .object({ columns: z.array(z.string()), rows: z.array(z.array(z.unknown())) })
      .nullish()
      .transform((v) => v ?? { columns: [], rows: [] }),
    meta: metaSchema,
  }),
);
const bookmarkSchema = z.object({ bookmark: z.string().min(1) });
const restoreSchema = z.object({
  bookmark: z.string(),
  previous_bookmark: z.string(),
  message: z.string().nullish(),
});

/** `init`'s answer when the file must be uploaded (when D1 already holds it, init answers like ingest). */
const importInitSchema = z.object({ filename: z.string().min(1), upload_url: z.string().min(1) });
/** `ingest`'s and `poll`'s answer. The API reference documents `error`; wrangler reads `errors[]`. */
const importStatusSchema = z.object({
  success: z.boolean().nullish(),
  at_bookmark: z.string().nullish(),
  status: z.string().nullish(),
  error: z.string().nullish(),
  errors: z.array(z.unknown()).nullish(),
  messages: z.array(z.string()).nullish(),
  result: z.object({ final_bookmark: z.string(), num_queries: z.number(), meta: metaSchema }).nullish(),
});

type Envelope = z.infer<typeof envelopeSchema>;

/** One HTTP call the client makes. */
interface Call {
  operation: string;
  method: 'GET' | 'POST';
  /** Path below `/accounts/{account}/d1/database/{db}`, e.g. `/query`. */
  suffix: string;
  search?: Record<string, string>;
  body?: unknown;
  /** Statements in the request, to attribute an SQL error to statement 0 when there is one. */
  statementCount?: number;
}

/** Outcome of one attempt that is worth another try. */
interface Retryable {
  reason: D1RetryReason;
  status?: number;
  retryAfterMs?: number;
  detail: string;
  cause?: D1ErrorContext['cause'];
  /** The request never left this machine (connection refused, DNS failure): resending cannot apply it twice. */
  unsent?: boolean;
  /** For `transient`: D1's code and message. */
  code?: number;
  d1Message?: string;
}

/** A response that arrived, whatever its status. */
interface Exchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Creates a D1 REST client; no connection is made until the first call. */
export function createD1Client(options: D1ClientOptions): D1Client {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const token = options.apiToken;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const retry = { ...DEFAULTS, ...dropUndefined(options.retry ?? {}) };
  const retryMode = options.retries ?? 'auto';
  /** Whether this call may retry `outcome` itself, or must leave it to the activity's retry policy. */
  const retriesItself = (outcome: Retryable): boolean => {
    const mode = retryMode === 'auto' ? (activityContext.getStore() === undefined ? 'transient' : 'unsent-only') : retryMode;
    return mode === 'transient' || outcome.unsent === true;
  };
  /** What aborts the current call: the client's signal and the calling activity's cancellation, if any. */
  const cancellation = (): AbortSignal | undefined => {
    const signals = [options.signal, activityCancellation()].filter((s): s is AbortSignal => s !== undefined);
    return signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  };
  const databasePath = `/accounts/${encodeURIComponent(options.accountId)}/d1/database/${encodeURIComponent(options.databaseId)}`;

  /** Removes the token from any text that came from a server or a socket error. */
  const redact = (text: string): string => (token ? text.replaceAll(token, '[redacted]') : text);

  /** Runs `attempt` until it gives a value, sleeping between retryable outcomes (backoff, Retry-After). */
  async function retrying<T>(
    operation: string,
    path: string,
    attempt: (context: D1ErrorContext) => Promise<{ value: T } | Retryable>,
  ): Promise<{ context: D1ErrorContext; value: T }> {
    const cancel = cancellation();
    for (let n = 1; ; n++) {
      cancel?.throwIfAborted();
      const context: D1ErrorContext = { operation, path, attempts: n };
      const outcome = await attempt(context);
      if (!('reason' in outcome)) return { context, value: outcome.value };

      const retryAfterTooLong = outcome.retryAfterMs !== undefined && outcome.retryAfterMs > retry.maxRetryAfterMs;
      if (n >= retry.maxAttempts || retryAfterTooLong || !retriesItself(outcome)) throw exhausted(outcome, { ...context, status: outcome.status });

      const backoff = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (n - 1));
      const jittered = backoff / 2 + Math.random() * (backoff / 2);
      const delayMs = Math.ceil(Math.max(jittered, outcome.retryAfterMs ?? 0));
      options.onRetry?.({ operation, path, attempt: n, delayMs, reason: outcome.reason, status: outcome.status, detail: outcome.detail });
      await sleepUnlessCancelled(delayMs, cancel);
    }
  }

  async function send(call: Call): Promise<{ context: D1ErrorContext; result: unknown }> {
    const path = databasePath + call.suffix;
    const { context, value } = await retrying(call.operation, path, (attemptContext) => attemptOnce(call, path, attemptContext));
    return { context, result: value };
  }

  /**
   * One HTTP exchange within the per-attempt timeout; a connection error or a timeout comes back
   * retryable. A cancelled call throws the cancellation's reason, whatever the request's state.
   */
  async function exchange(url: string, method: 'GET' | 'POST' | 'PUT', headers: Record<string, string>, body?: string | Buffer): Promise<Exchange | Retryable> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const cancel = cancellation();
    const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
    try {
      const response = await request(url, { method, headers, body, signal, ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}) });
      return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
    } catch (err) {
      cancel?.throwIfAborted();
      if (timeout.aborted) return { reason: 'timeout', detail: `no response within ${timeoutMs} ms` };
      const cause = sanitizeCause(err, redact);
      const unsent = cause.code !== undefined && UNSENT_ERROR_CODES.has(cause.code);
      return { reason: 'connection', detail: `${cause.code ?? cause.name}: ${cause.message}`, cause, unsent };
    }
  }

  /**
   * A transient answer, as an outcome worth another try: a 429; a 5xx or 408 (524 and the edge's
   * HTML error pages included); or, whatever the status, a D1 error whose code or message is one
   * of D1's transient faults (e.g. `internal error; reference = …`, code 7500 on HTTP 400).
   */
  function transient({ status, headers, text }: Exchange): Retryable | undefined {
    if (status === 429) return { reason: 'rate-limited', status, retryAfterMs: parseRetryAfter(headers['retry-after']), detail: 'HTTP 429' };
    if (status >= 500 || status === 408) {
      const page = htmlTitle(headers, text);
      return { reason: 'server-error', status, detail: `HTTP ${status}: ${page ? redact(page) : firstError(text, redact)}` };
    }
    const envelope = parseEnvelope(text);
    if (envelope && !envelope.success) {
      const fault = envelope.errors?.find((e) => isTransientD1Error(e));
      if (fault) return { reason: 'transient', status, code: fault.code, d1Message: redact(fault.message), detail: `HTTP ${status}, code ${fault.code}: ${redact(fault.message)}` };
    }
    return undefined;
  }

  /** One HTTP attempt: returns the envelope's result, a retryable outcome, or throws a permanent error. */
  async function attemptOnce(call: Call, path: string, attemptContext: D1ErrorContext): Promise<{ value: unknown } | Retryable> {
    const url = baseUrl + path + (call.search ? `?${new URLSearchParams(call.search)}` : '');
    const headers = {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const response = await exchange(url, call.method, headers, call.body === undefined ? undefined : JSON.stringify(call.body));
    if ('reason' in response) return response;
    const retryable = transient(response);
    if (retryable) return retryable;
    const { status, text } = response;

    const context: D1ErrorContext = { ...attemptContext, status };
    const envelope = parseEnvelope(text);
    const firstCode = envelope?.errors?.[0]?.code;
    if (status === 401 || status === 403 || (firstCode !== undefined && AUTH_ERROR_CODES.has(firstCode))) {
      throw new D1AuthError({ ...context, detail: envelope ? describeErrors(envelope, redact) : snippet(text, redact) });
    }
    // Transient faults are out of the way: a 400 with code 7500 (or no code) on an endpoint that
    // runs SQL is the SQL being rejected; code 7500 says so anywhere. Any other refusal is the request's.
    const carriesSql = call.suffix === '/query' || call.suffix === '/raw';
    const first = envelope?.errors?.[0];
    if ((status === 400 && carriesSql && envelope && (first === undefined || first.code === 7500)) || (envelope && !envelope.success && first?.code === 7500)) {
      throw new D1SqlError({
        ...context,
        code: first?.code,
        d1Message: first ? redact(first.message) : describeErrors(envelope, redact),
        statementIndex: call.statementCount === 1 ? 0 : undefined,
      });
    }
    if (status >= 400 && status < 500 && envelope) {
      throw new D1RequestInvalid({ ...context, code: first?.code, detail: describeErrors(envelope, redact), check: requestCheck(first?.code, status) });
    }
    if (status < 200 || status >= 300 || !envelope) {
      const title = htmlTitle(response.headers, text);
      const body = title ? `an HTML page (${redact(title)}), not a Cloudflare envelope` : `body is not a Cloudflare envelope: ${snippet(text, redact)}`;
      throw new D1ResponseError({ ...context, detail: envelope ? describeErrors(envelope, redact) : body });
    }
    if (!envelope.success) throw new D1ResponseError({ ...context, detail: describeErrors(envelope, redact) });
    return { value: envelope.result };
  }

  function exhausted(outcome: Retryable, context: D1ErrorContext): D1Error {
    const withCause = outcome.cause ? { ...context, cause: outcome.cause } : context;
    if (outcome.reason === 'rate-limited') return new D1RateLimited({ ...withCause, retryAfterMs: outcome.retryAfterMs });
    if (outcome.reason === 'transient') return new D1Transient({ ...withCause, code: outcome.code, d1Message: outcome.d1Message ?? outcome.detail });
    const reason = outcome.reason === 'server-error' ? 'http' : outcome.reason;
    return new D1Unavailable({ ...withCause, reason, detail: outcome.detail });
  }

  /** Validates `result` against `schema`, or throws D1ResponseError naming the mismatch. */
  function parseResult<T>(schema: z.ZodType<T>, result: unknown, context: D1ErrorContext): T {
    const parsed = schema.safeParse(result);
    if (!parsed.success) throw new D1ResponseError({ ...context, status: 200, detail: redact(z.prettifyError(parsed.error)) });
    return parsed.data;
  }

  /** Throws D1SqlError for the first statement D1 reports as failed inside a successful envelope. */
  function checkStatements(results: readonly { success: boolean }[], context: D1ErrorContext): void {
    const failed = results.findIndex((r) => !r.success);
    if (failed !== -1) throw new D1SqlError({ ...context, status: 200, d1Message: 'statement reported success: false', statementIndex: failed });
  }

  /** PUTs the SQL file to D1's presigned upload URL (no token) and checks the ETag it answers with. */
  async function uploadFile(uploadUrl: string, bytes: Buffer, etag: string): Promise<void> {
    await retrying('import', `${databasePath}/import (upload_url)`, async (context) => {
      const response = await exchange(uploadUrl, 'PUT', {}, bytes);
      if ('reason' in response) return response;
      const retryable = transient(response);
      if (retryable) return retryable;
      const failed = { ...context, status: response.status };
      if (response.status < 200 || response.status >= 300) throw new D1ResponseError({ ...failed, detail: `upload refused: ${snippet(response.text, redact)}` });
      const stored = [response.headers.etag].flat()[0]?.replace(/^"|"$/g, '');
      if (stored !== undefined && stored !== etag) throw new D1ResponseError({ ...failed, detail: `the upload stored md5 ${stored}, not ${etag}` });
      return { value: undefined };
    });
  }

  /** init → upload → ingest → poll until the import completes or fails. */
  async function runImport(sql: string, importOptions: D1ImportOptions): Promise<D1ImportResult> {
    const bytes = Buffer.from(sql, 'utf8');
    const etag = createHash('md5').update(bytes).digest('hex');
    const pollIntervalMs = importOptions.pollIntervalMs ?? DEFAULTS.importPollIntervalMs;
    const timeout = importOptions.timeoutMs ?? DEFAULTS.importTimeoutMs;
    const deadline = Date.now() + timeout;
    const post = (body: object) => send({ operation: 'import', method: 'POST', suffix: '/import', body });
    const cancel = cancellation();

    const init = await post({ action: 'init', etag });
    const slot = importInitSchema.safeParse(init.result);
    let answer = init;
    if (slot.success) {
      await uploadFile(slot.data.upload_url, bytes, etag);
      answer = await post({ action: 'ingest', etag, filename: slot.data.filename });
    }
    const messages: string[] = [];
    let polls = 0;
    for (;;) {
      const context = { ...answer.context, status: 200 };
      const state = parseResult(importStatusSchema, answer.result, context);
      messages.push(...(state.messages ?? []));
      if (state.success === false) throw new D1ResponseError({ ...context, detail: `import refused: ${redact(state.error ?? 'no reason given')}` });
      if (state.status === 'error') {
        const d1Message = redact(state.error ?? state.errors?.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ') ?? 'no reason given');
        throw new D1SqlError({ ...context, d1Message, statementIndex: statementPosition(d1Message) });
      }
      if (state.status === 'complete') {
        if (!state.result || !state.at_bookmark) throw new D1ResponseError({ ...context, detail: 'import complete without its result or at_bookmark' });
        const { num_queries, final_bookmark, meta } = state.result;
        return { numQueries: num_queries, finalBookmark: final_bookmark, atBookmark: state.at_bookmark, meta, messages };
      }
      if (!state.at_bookmark) throw new D1ResponseError({ ...context, detail: `import answer without at_bookmark (status ${state.status ?? 'missing'})` });
      // A small import is often done at once: look again soon, then less and less often, up to pollIntervalMs.
      const wait = Math.min(pollIntervalMs, 25 * 2 ** polls++);
      if (Date.now() + wait > deadline) {
        throw new D1Unavailable({ ...context, reason: 'timeout', detail: `import not complete within ${timeout} ms, it may still complete; at_bookmark ${state.at_bookmark}` });
      }
      await sleepUnlessCancelled(wait, cancel);
      answer = await post({ action: 'poll', current_bookmark: state.at_bookmark });
    }
  }

  async function runQuery<Row>(operation: string, body: unknown, statementCount: number | undefined): Promise<D1Result<Row>[]> {
    const { context, result } = await send({ operation, method: 'POST', suffix: '/query', body, statementCount });
    const results = parseResult(queryResultSchema, result, context);
    checkStatements(results, context);
    return results as D1Result<Row>[];
  }

  const query = <Row>(sql: string, params?: readonly D1Param[]) => runQuery<Row>('query', { sql, params: toWireParams(params ?? []) }, undefined);
  const first = async <Row>(sql: string, params?: readonly D1Param[]): Promise<Row | undefined> => (await query<Row>(sql, params))[0]?.results[0];

  return {
    query,
    first,
    async scalar<T>(sql: string, params?: readonly D1Param[]): Promise<T | undefined> {
      const row = await first<Record<string, T>>(sql, params);
      return row === undefined ? undefined : Object.values(row)[0];
    },

    async batch(statements) {
      if (statements.length === 0) return [];
      const batch = statements.map((s) => ({ sql: s.sql, params: toWireParams(s.params ?? []) }));
      return runQuery('batch', { batch }, statements.length);
    },

    async raw(sql, params) {
      const body = { sql, params: toWireParams(params ?? []) };
      const { context, result } = await send({ operation: 'raw', method: 'POST', suffix: '/raw', body });
      const results = parseResult(rawResultSchema, result, context);
      checkStatements(results, context);
      return results.map((r) => ({ success: r.success, columns: r.results.columns, rows: r.results.rows, meta: r.meta }));
    },

    async bookmark(timestamp) {
      const search = timestamp ? { timestamp: timestamp.toISOString() } : undefined;
      const { context, result } = await send({ operation: 'bookmark', method: 'GET', suffix: '/time_travel/bookmark', search });
      return parseResult(bookmarkSchema, result, context).bookmark;
    },

    async restore(target) {
      const search: Record<string, string> =
        'bookmark' in target ? { bookmark: target.bookmark } : { timestamp: target.timestamp.toISOString() };
      const { context, result } = await send({ operation: 'restore', method: 'POST', suffix: '/time_travel/restore', search });
      const parsed = parseResult(restoreSchema, result, context);
      return { bookmark: parsed.bookmark, previousBookmark: parsed.previous_bookmark, message: parsed.message ?? '' };
    },

    import: (sql, importOptions) => runImport(sql, importOptions ?? {}),
  };
}

/** The 0-based index of the statement an import error names ("statement 3 of 5" → 2), if it names one. */
function statementPosition(message: string): number | undefined {
  const position = Number(/\bstatement (\d+)\b/i.exec(message)?.[1]);
  return position >= 1 ? position - 1 : undefined;
}

/** Converts parameters to what JSON can carry exactly: bigint → string, boolean → 1/0. */
export function toWireParams(params: readonly D1Param[]): (string | number | null)[] {
  return params.map((p, i) => {
    if (typeof p === 'bigint') return p.toString();
    if (typeof p === 'boolean') return p ? 1 : 0;
    if (typeof p === 'number' && !Number.isFinite(p)) throw new TypeError(`D1 parameter ${i + 1} is ${p}, which JSON cannot carry`);
    if (p === undefined) throw new TypeError(`D1 parameter ${i + 1} is undefined`);
    return p;
  });
}

/** Retry-After in ms: delay-seconds or an HTTP date; undefined when absent or unreadable. */
function parseRetryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function parseEnvelope(text: string): Envelope | undefined {
  try {
    const parsed = envelopeSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function describeErrors(envelope: Envelope, redact: (text: string) => string): string {
  const errors = envelope.errors ?? [];
  if (errors.length === 0) return 'success: false without errors';
  return redact(errors.map((e) => `code ${e.code}: ${e.message}`).join('; '));
}

/** The first Cloudflare error of a body, or a short snippet of a non-envelope body. */
function firstError(text: string, redact: (text: string) => string): string {
  const envelope = parseEnvelope(text);
  return envelope ? describeErrors(envelope, redact) : snippet(text, redact);
}

/** The `<title>` of an HTML body (an error page from Cloudflare's edge), or undefined when the body is not HTML. */
function htmlTitle(headers: Exchange['headers'], text: string): string | undefined {
  const type = [headers['content-type']].flat()[0] ?? '';
  if (!/text\/html/i.test(type) && !/^\s*<(!doctype html|html)/i.test(text)) return undefined;
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1]?.replace(/\s+/g, ' ').trim();
  return `HTML error page${title ? `: ${title.slice(0, 120)}` : ''}`;
}

function snippet(text: string, redact: (text: string) => string): string {
  const short = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return short.trim() === '' ? '(empty body)' : redact(short);
}

/** A plain, token-free copy of a network error (the original may hold sockets or request state). */
function sanitizeCause(err: unknown, redact: (text: string) => string): NonNullable<D1ErrorContext['cause']> {
  const name = err instanceof Error ? err.name : 'Error';
  const message = redact(err instanceof Error ? err.message : String(err));
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  return code === undefined ? { name, message } : { name, message, code };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
