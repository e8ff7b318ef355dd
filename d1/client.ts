/**
 * The one D1 REST client (undici). Locally it points at the local D1 service, in production at
 * Cloudflare. It retries 429, 5xx, connection errors and timeouts with exponential backoff and
 * jitter, honours Retry-After, never retries 400/401/403, and never lets the token leak.
 *
 * Large integers: JSON numbers lose precision above 2^53. Bigint parameters are sent as
 * strings (SQLite's INTEGER affinity turns them back into integers on insert); read such
 * values back with `CAST(x AS TEXT)`.
 *
 * Retries resend the request. A timed-out or 5xx request may still have run on the server, so
 * callers must make their writes idempotent (keys + INSERT OR IGNORE, or revert by load id).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { z } from 'zod';
import {
  D1AuthError,
  D1RateLimited,
  D1ResponseError,
  D1SqlError,
  D1Unavailable,
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

/** Why an attempt is being retried. */
export type D1RetryReason = 'rate-limited' | 'server-error' | 'connection' | 'timeout';

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
  /** Called before each retry sleep, e.g. to log or heartbeat. */
  onRetry?: (info: D1RetryInfo) => void;
  /** undici dispatcher to use instead of the global one. */
  dispatcher?: Dispatcher;
}

/** A D1 database reached over the REST API. */
export interface D1Client {
  /** Runs SQL (several `;`-separated statements allowed); one result per statement. */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly D1Param[]): Promise<D1Result<Row>[]>;
  /** Runs statements as one request (`{batch: [...]}`); one result per statement. */
  batch<Row = Record<string, unknown>>(statements: readonly D1Statement[]): Promise<D1Result<Row>[]>;
  /** Like `query`, with rows as arrays under their column names (`/raw`). */
  raw(sql: string, params?: readonly D1Param[]): Promise<D1RawResult[]>;
  /** The Time Travel bookmark for now, or for the latest state at or before `timestamp`. */
  bookmark(timestamp?: Date): Promise<string>;
  /** Restores the whole database to a bookmark or a timestamp. */
  restore(target: { bookmark: string } | { timestamp: Date }): Promise<D1RestoreResult>;
}

/**
 * Cloudflare codes meaning the credentials were refused, whatever the HTTP status (a malformed or
 * unknown token can come back as HTTP 400): invalid token, invalid request headers / Authorization
 * format, unauthorised for the resource, authentication error, unable to authenticate.
 */
const AUTH_ERROR_CODES = new Set([1000, 6003, 6111, 9106, 9109, 10000, 10001]);

const DEFAULTS = { timeoutMs: 30_000, maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 10_000, maxRetryAfterMs: 60_000 };

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
}

/** Creates a D1 REST client; no connection is made until the first call. */
export function createD1Client(options: D1ClientOptions): D1Client {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const token = options.apiToken;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const retry = { ...DEFAULTS, ...dropUndefined(options.retry ?? {}) };
  const databasePath = `/accounts/${encodeURIComponent(options.accountId)}/d1/database/${encodeURIComponent(options.databaseId)}`;

  /** Removes the token from any text that came from a server or a socket error. */
  const redact = (text: string): string => (token ? text.replaceAll(token, '[redacted]') : text);

  async function send(call: Call): Promise<{ context: D1ErrorContext; result: unknown }> {
    const path = databasePath + call.suffix;
    for (let attempt = 1; ; attempt++) {
      const context: D1ErrorContext = { operation: call.operation, path, attempts: attempt };
      const outcome = await attemptOnce(call, path, context);
      if (!('reason' in outcome)) return { context, result: outcome.result };

      const retryAfterTooLong = outcome.retryAfterMs !== undefined && outcome.retryAfterMs > retry.maxRetryAfterMs;
      if (attempt >= retry.maxAttempts || retryAfterTooLong) throw exhausted(outcome, { ...context, status: outcome.status });

      const backoff = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
      const jittered = backoff / 2 + Math.random() * (backoff / 2);
      const delayMs = Math.ceil(Math.max(jittered, outcome.retryAfterMs ?? 0));
      options.onRetry?.({ operation: call.operation, path, attempt, delayMs, reason: outcome.reason, status: outcome.status, detail: outcome.detail });
      await sleep(delayMs);
    }
  }

  /** One HTTP attempt: returns the envelope's result, a retryable outcome, or throws a permanent error. */
  async function attemptOnce(call: Call, path: string, attemptContext: D1ErrorContext): Promise<{ result: unknown } | Retryable> {
    const url = baseUrl + path + (call.search ? `?${new URLSearchParams(call.search)}` : '');
    const signal = AbortSignal.timeout(timeoutMs);
    let status: number;
    let text: string;
    let retryAfterHeader: string | string[] | undefined;
    try {
      const response = await request(url, {
        method: call.method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        signal,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      status = response.statusCode;
      retryAfterHeader = response.headers['retry-after'];
      text = await response.body.text();
    } catch (err) {
      if (signal.aborted) return { reason: 'timeout', detail: `no response within ${timeoutMs} ms` };
      const cause = sanitizeCause(err, redact);
      return { reason: 'connection', detail: `${cause.code ?? cause.name}: ${cause.message}`, cause };
    }

    const context: D1ErrorContext = { ...attemptContext, status };
    if (status === 429) return { reason: 'rate-limited', status, retryAfterMs: parseRetryAfter(retryAfterHeader), detail: 'HTTP 429' };
    if (status >= 500 || status === 408) return { reason: 'server-error', status, detail: `HTTP ${status}: ${firstError(text, redact)}` };
    const envelope = parseEnvelope(text);
    const firstCode = envelope?.errors?.[0]?.code;
    if (status === 401 || status === 403 || (firstCode !== undefined && AUTH_ERROR_CODES.has(firstCode))) {
      throw new D1AuthError({ ...context, detail: envelope ? describeErrors(envelope, redact) : snippet(text, redact) });
    }
    // A 400 on an endpoint that runs SQL is the SQL being rejected; code 7500 says so anywhere.
    const carriesSql = call.suffix === '/query' || call.suffix === '/raw';
    if ((status === 400 && carriesSql) || (envelope && !envelope.success && envelope.errors?.[0]?.code === 7500)) {
      const first = envelope?.errors?.[0];
      throw new D1SqlError({
        ...context,
        code: first?.code,
        d1Message: first ? redact(first.message) : firstError(text, redact),
        statementIndex: call.statementCount === 1 ? 0 : undefined,
      });
    }
    if (status < 200 || status >= 300 || !envelope) {
      throw new D1ResponseError({ ...context, detail: envelope ? describeErrors(envelope, redact) : `body is not a Cloudflare envelope: ${snippet(text, redact)}` });
    }
    if (!envelope.success) throw new D1ResponseError({ ...context, detail: describeErrors(envelope, redact) });
    return { result: envelope.result };
  }

  function exhausted(outcome: Retryable, context: D1ErrorContext): D1Error {
    const withCause = outcome.cause ? { ...context, cause: outcome.cause } : context;
    if (outcome.reason === 'rate-limited') return new D1RateLimited({ ...withCause, retryAfterMs: outcome.retryAfterMs });
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

  async function runQuery<Row>(operation: string, body: unknown, statementCount: number | undefined): Promise<D1Result<Row>[]> {
    const { context, result } = await send({ operation, method: 'POST', suffix: '/query', body, statementCount });
    const results = parseResult(queryResultSchema, result, context);
    checkStatements(results, context);
    return results as D1Result<Row>[];
  }

  return {
    query: (sql, params) => runQuery('query', { sql, params: toWireParams(params ?? []) }, undefined),

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
  };
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
