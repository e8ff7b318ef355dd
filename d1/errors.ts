/**
 * Errors of the D1 REST client. Each class has a stable `type` string (bundlers rename
 * classes, so never test `constructor.name`). Messages name the operation and the API path,
 * never the API token; the client redacts anything a server echoes back.
 *
 * Every D1 error is an ApplicationFailure, so this file is the one place where a D1 failure
 * becomes what Temporal sees: its type, whether it is retryable, and (for a 429) the
 * `nextRetryDelay` taken from Retry-After. Activities just let D1 errors through.
 */
import { ApplicationFailure } from '@temporalio/common';
import { d1ErrorTypes, nonRetryableD1ErrorTypes, type D1ErrorType } from '../common/d1-error-types.ts';

export { nonRetryableD1ErrorTypes, type D1ErrorType };

/** Stable type names of every D1 client error, e.g. for ApplicationFailure types. */
export const D1_ERROR_TYPES = d1ErrorTypes;

/**
 * What D1 says when a fault is on its side and the same request may succeed later: Cloudflare's
 * "Retry queries" page (`Network connection lost`, `storage caused object to be reset`, `reset
 * because its code was updated`), the D1_ERROR list of D1's debug page, and the REST answers
 * seen in workers-sdk #14731 and #15449 (`internal error; reference = …`, code 7500 on HTTP 400).
 */
export const D1_TRANSIENT_MESSAGES: readonly RegExp[] = [
  /network connection lost/i,
  /storage caused object to be reset/i,
  /reset because its code was updated/i,
  /internal error; reference\s*=/i,
  /cannot resolve d1 db due to transient issue/i,
  /storage operation exceeded timeout/i,
  /d1 db is overloaded/i,
  /too many requests queued/i,
];

/**
 * Codes that are transient whatever the message: 7429, D1 overloaded. 7403 ("not authorized")
 * is reported as intermittent, but it is also what a token without D1 permission gets: it is
 * transient only when its message carries one of the transient phrases, else D1AuthError.
 */
export const D1_TRANSIENT_CODES: ReadonlySet<number> = new Set([7429]);

/** True when D1's error code or message says the fault is transient (see the lists above). */
export function isTransientD1Error(error: { code?: number; message: string }): boolean {
  if (error.code !== undefined && D1_TRANSIENT_CODES.has(error.code)) return true;
  return D1_TRANSIENT_MESSAGES.some((pattern) => pattern.test(error.message));
}

/** Where an error happened: the client operation and the path below the base URL. */
export interface D1ErrorContext {
  /** Client operation, e.g. `query`, `batch`, `raw`, `bookmark`, `restore`, `import`. */
  operation: string;
  /** API path without the query string, e.g. `/accounts/<acct>/d1/database/<db>/query`. */
  path: string;
  /** HTTP status, when a response arrived. */
  status?: number;
  /** How many HTTP attempts were made before giving up. */
  attempts?: number;
  /** A sanitised description of the underlying failure (never an object holding the token). */
  cause?: { name: string; message: string; code?: string };
}

const permanent: readonly string[] = nonRetryableD1ErrorTypes;

/** Base class of every D1 client error: an ApplicationFailure whose type is the stable name. */
export abstract class D1Error extends ApplicationFailure {
  /** Stable type name; use it instead of the class name. */
  declare readonly type: D1ErrorType;
  /** Client operation that failed. */
  readonly operation: string;
  /** API path that failed (no host, no query string, no token). */
  readonly path: string;
  /** HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** HTTP attempts made, when known. */
  readonly attempts: number | undefined;

  constructor(type: D1ErrorType, message: string, context: D1ErrorContext, nextRetryDelayMs?: number) {
    // The sanitised cause is a plain { name, message, code }: an Error as far as Temporal's failure converter cares.
    super(`D1 ${context.operation} ${context.path}: ${message}`, type, permanent.includes(type), undefined, context.cause as Error | undefined, nextRetryDelayMs);
    this.operation = context.operation;
    this.path = context.path;
    this.status = context.status;
    this.attempts = context.attempts;
  }

  /** A log-friendly plain object (Error's `message` is not enumerable, so JSON.stringify would drop it). */
  toJSON(): Record<string, unknown> {
    return { ...(this as object), name: this.name, message: this.message, cause: this.cause };
  }
}

/** D1 rejected the SQL (HTTP 400, code 7500, and not one of D1's transient messages). Permanent: retrying sends the same SQL. */
export class D1SqlError extends D1Error {
  declare readonly type: 'D1SqlError';
  override readonly name = 'D1SqlError';
  /** Cloudflare error code, e.g. 7500. */
  readonly code: number | undefined;
  /** D1's own message, e.g. `near "BEGN": syntax error`. */
  readonly d1Message: string;
  /** Index (from 0) of the failing statement within the request or import, when known; the message counts from 1. */
  readonly statementIndex: number | undefined;

  constructor(context: D1ErrorContext & { code?: number; d1Message: string; statementIndex?: number }) {
    const where = context.statementIndex === undefined ? '' : ` (statement #${context.statementIndex + 1})`;
    const code = context.code === undefined ? '' : `, code ${context.code}`;
    super('D1SqlError', `SQL rejected${where} (HTTP ${context.status ?? '?'}${code}): ${context.d1Message}`, context);
    this.code = context.code;
    this.d1Message = context.d1Message;
    this.statementIndex = context.statementIndex;
  }
}

/**
 * Rate limited (HTTP 429, code 971). Transient: the activity is retried after Retry-After
 * (`nextRetryDelay`); Cloudflare blocks the account's API calls for five minutes.
 */
export class D1RateLimited extends D1Error {
  declare readonly type: 'D1RateLimited';
  override readonly name = 'D1RateLimited';
  /** The server's Retry-After, in ms, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(context: D1ErrorContext & { retryAfterMs?: number }) {
    const after = context.retryAfterMs === undefined ? '' : `; retry after ${context.retryAfterMs} ms`;
    const delay = context.retryAfterMs === undefined || context.retryAfterMs <= 0 ? undefined : context.retryAfterMs;
    super('D1RateLimited', `rate limited (HTTP 429) after ${context.attempts ?? '?'} attempt(s)${after}`, context, delay);
    this.retryAfterMs = context.retryAfterMs;
  }
}

/** Why D1 was unavailable. */
export type D1UnavailableReason = 'http' | 'connection' | 'timeout';

/**
 * D1 answered 5xx/408 (an edge HTML page included), could not be reached, or timed out.
 * Transient. A 5xx, a timeout or a connection lost mid-request may have applied the request.
 */
export class D1Unavailable extends D1Error {
  declare readonly type: 'D1Unavailable';
  override readonly name = 'D1Unavailable';
  /** Whether the last attempt got a 5xx, a connection error or a timeout. */
  readonly reason: D1UnavailableReason;

  constructor(context: D1ErrorContext & { reason: D1UnavailableReason; detail: string }) {
    super('D1Unavailable', `unavailable (${context.detail}) after ${context.attempts ?? '?'} attempt(s)`, context);
    this.reason = context.reason;
  }
}

/**
 * D1 reported one of its transient faults (`Network connection lost`, `internal error; reference
 * = …` with code 7500, 7429 overloaded, …), whatever the HTTP status. Retryable; the request
 * may or may not have been applied, which is why every write is safe to resend.
 */
export class D1Transient extends D1Error {
  declare readonly type: 'D1Transient';
  override readonly name = 'D1Transient';
  /** Cloudflare error code, e.g. 7500 or 7429. */
  readonly code: number | undefined;
  /** D1's own message (redacted). */
  readonly d1Message: string;

  constructor(context: D1ErrorContext & { code?: number; d1Message: string }) {
    const code = context.code === undefined ? '' : `, code ${context.code}`;
    super('D1Transient', `transient D1 fault (HTTP ${context.status ?? '?'}${code}) after ${context.attempts ?? '?'} attempt(s): ${context.d1Message}`, context);
    this.code = context.code;
    this.d1Message = context.d1Message;
  }
}

/** The API token was refused (HTTP 401/403, or an auth error code). Permanent until the configuration changes. */
export class D1AuthError extends D1Error {
  declare readonly type: 'D1AuthError';
  override readonly name = 'D1AuthError';

  constructor(context: D1ErrorContext & { detail: string }) {
    super('D1AuthError', `authentication failed (HTTP ${context.status ?? '?'}): ${context.detail}; check CLOUDFLARE_API_TOKEN and its D1 permission`, context);
  }
}

/**
 * D1 refused the request itself, not its SQL: a malformed request (code 7400), an unknown
 * database or account (7404, 7003, HTTP 404), an unknown Time Travel bookmark. Permanent: the
 * message says what to check.
 */
export class D1RequestInvalid extends D1Error {
  declare readonly type: 'D1RequestInvalid';
  override readonly name = 'D1RequestInvalid';
  /** Cloudflare error code, e.g. 7400. */
  readonly code: number | undefined;

  constructor(context: D1ErrorContext & { code?: number; detail: string; check: string }) {
    super('D1RequestInvalid', `request refused (HTTP ${context.status ?? '?'}): ${context.detail}; ${context.check}`, context);
    this.code = context.code;
  }
}

/** The response had an unexpected shape or status (no Cloudflare envelope, success: false on a 2xx). Retried. */
export class D1ResponseError extends D1Error {
  declare readonly type: 'D1ResponseError';
  override readonly name = 'D1ResponseError';

  constructor(context: D1ErrorContext & { detail: string }) {
    super('D1ResponseError', `unexpected response (HTTP ${context.status ?? '?'}): ${context.detail}`, context);
  }
}

/** True for D1 errors the activity retry policies retry (all but `nonRetryableD1ErrorTypes`); false for anything else. */
export function isRetryable(err: unknown): boolean {
  const type = d1ErrorType(err);
  return type !== undefined && !permanent.includes(type);
}

/** The stable D1 error type of `err`, or undefined when it is not a D1 client error. */
export function d1ErrorType(err: unknown): D1ErrorType | undefined {
  if (typeof err !== 'object' || err === null || !('type' in err)) return undefined;
  const type = (err as { type: unknown }).type;
  return (D1_ERROR_TYPES as readonly unknown[]).includes(type) ? (type as D1ErrorType) : undefined;
}
