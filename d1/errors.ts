/**
 * Errors of the D1 REST client. Each class has a stable `type` string (bundlers rename
 * classes, so never test `constructor.name`). Messages name the operation and the API path,
 * never the API token; the client redacts anything a server echoes back.
 */

/** Stable type names of every D1 client error, e.g. for ApplicationFailure types. */
export const D1_ERROR_TYPES = [
  'D1SqlError',
  'D1RateLimited',
  'D1Unavailable',
  'D1AuthError',
  'D1ResponseError',
] as const;

/** One of `D1_ERROR_TYPES`. */
export type D1ErrorType = (typeof D1_ERROR_TYPES)[number];

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

/** Base class of every D1 client error. */
export abstract class D1Error extends Error {
  /** Stable type name; use it instead of the class name. */
  abstract readonly type: D1ErrorType;
  /** Client operation that failed. */
  readonly operation: string;
  /** API path that failed (no host, no query string, no token). */
  readonly path: string;
  /** HTTP status, when a response arrived. */
  readonly status: number | undefined;
  /** HTTP attempts made, when known. */
  readonly attempts: number | undefined;

  constructor(message: string, context: D1ErrorContext) {
    super(`D1 ${context.operation} ${context.path}: ${message}`, context.cause ? { cause: context.cause } : undefined);
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

/** D1 rejected the SQL (HTTP 400, usually code 7500). Permanent: retrying sends the same SQL. */
export class D1SqlError extends D1Error {
  readonly type = 'D1SqlError' as const;
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
    super(`SQL rejected${where} (HTTP ${context.status ?? '?'}${code}): ${context.d1Message}`, context);
    this.code = context.code;
    this.d1Message = context.d1Message;
    this.statementIndex = context.statementIndex;
  }
}

/** Still rate limited (HTTP 429) after the client's retries. Transient: retry after `retryAfterMs`. */
export class D1RateLimited extends D1Error {
  readonly type = 'D1RateLimited' as const;
  override readonly name = 'D1RateLimited';
  /** The server's Retry-After, in ms, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(context: D1ErrorContext & { retryAfterMs?: number }) {
    const after = context.retryAfterMs === undefined ? '' : `; retry after ${context.retryAfterMs} ms`;
    super(`rate limited (HTTP 429) after ${context.attempts ?? '?'} attempt(s)${after}`, context);
    this.retryAfterMs = context.retryAfterMs;
  }
}

/** Why D1 was unavailable. */
export type D1UnavailableReason = 'http' | 'connection' | 'timeout';

/** D1 answered 5xx, could not be reached, or timed out, after the client's retries. Transient. */
export class D1Unavailable extends D1Error {
  readonly type = 'D1Unavailable' as const;
  override readonly name = 'D1Unavailable';
  /** Whether the last attempt got a 5xx, a connection error or a timeout. */
  readonly reason: D1UnavailableReason;

  constructor(context: D1ErrorContext & { reason: D1UnavailableReason; detail: string }) {
    super(`unavailable (${context.detail}) after ${context.attempts ?? '?'} attempt(s)`, context);
    this.reason = context.reason;
  }
}

/** The API token was refused (HTTP 401/403, or an auth error code). Permanent until the configuration changes. */
export class D1AuthError extends D1Error {
  readonly type = 'D1AuthError' as const;
  override readonly name = 'D1AuthError';

  constructor(context: D1ErrorContext & { detail: string }) {
    super(`authentication failed (HTTP ${context.status ?? '?'}): ${context.detail}`, context);
  }
}

/**
 * The response had an unexpected shape or status, or a non-SQL request was refused (e.g. an
 * unknown Time Travel bookmark, HTTP 400 code 7400). Permanent.
 */
export class D1ResponseError extends D1Error {
  readonly type = 'D1ResponseError' as const;
  override readonly name = 'D1ResponseError';

  constructor(context: D1ErrorContext & { detail: string }) {
    super(`unexpected response (HTTP ${context.status ?? '?'}): ${context.detail}`, context);
  }
}

/** True for errors worth retrying later (rate limits, outages, timeouts); false for everything else. */
export function isRetryable(err: unknown): boolean {
  const type = d1ErrorType(err);
  return type === 'D1RateLimited' || type === 'D1Unavailable';
}

/** The stable D1 error type of `err`, or undefined when it is not a D1 client error. */
export function d1ErrorType(err: unknown): D1ErrorType | undefined {
  if (typeof err !== 'object' || err === null || !('type' in err)) return undefined;
  const type = (err as { type: unknown }).type;
  return (D1_ERROR_TYPES as readonly unknown[]).includes(type) ? (type as D1ErrorType) : undefined;
}
