/**
 * Stable type names of the D1 client's errors, in a pure module so that workflows (retry
 * policies) and d1/errors.ts (the error classes) share one list. They travel as
 * ApplicationFailure types; never test a class name, bundlers rename classes.
 */
export const d1ErrorTypes = [
  'D1SqlError',
  'D1RateLimited',
  'D1Unavailable',
  'D1AuthError',
  'D1ResponseError',
  'D1Transient',
  'D1RequestInvalid',
] as const;

/** One of `d1ErrorTypes`. */
export type D1ErrorType = (typeof d1ErrorTypes)[number];

/**
 * D1 errors that retrying cannot fix: the SQL, the token or the request itself is wrong.
 * Every other D1 error (rate limits, outages, D1's transient faults, odd answers) is retried
 * by the activity's retry policy, which is the one retry layer.
 */
export const nonRetryableD1ErrorTypes = ['D1SqlError', 'D1AuthError', 'D1RequestInvalid'] as const satisfies readonly D1ErrorType[];
