import type { ActivityOptions } from '@temporalio/workflow';
import { nonRetryableD1ErrorTypes } from '../common/d1-error-types.ts';

/**
 * D1 errors that retrying cannot fix (the SQL, the token or the request is wrong), from the
 * list d1/errors.ts builds its errors with. Everything else D1 throws (429, 5xx, D1's transient
 * faults) is retried here, the one retry layer: the D1 client retries only unsent requests.
 */
const permanentD1Errors = [...nonRetryableD1ErrorTypes];

/**
 * A quick call to D1: retried with backoff on transient errors, permanent errors stop it.
 * 15 attempts, waits 1 s doubling to 2 min: about 16 minutes of waiting, so a five-minute 429
 * block of the Cloudflare account (Retry-After becomes the next delay) is outlasted.
 */
export const shortActivity = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 15, nonRetryableErrorTypes: permanentD1Errors },
} as const satisfies ActivityOptions;

/**
 * Finding and archiving an export: may wait until the export deadline (06:00) for Sodiwin to
 * finish writing the file. 10 attempts from 5 s to 2 min: about 10.5 minutes of waiting.
 */
export const fetchActivity = {
  startToCloseTimeout: '8 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10, nonRetryableErrorTypes: permanentD1Errors },
} as const satisfies ActivityOptions;

/**
 * Streaming a whole file (validate, stage), merging it (publish) or reconciling it (verify):
 * long, heartbeated (a dead worker is noticed within 30 s), resumable. 12 attempts from 2 s to
 * 2 min: about 12 minutes of waiting, more than a five-minute 429 block.
 */
export const longActivity = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 12, nonRetryableErrorTypes: permanentD1Errors },
} as const satisfies ActivityOptions;

/** Sending an alert: retried without limit (every 5 minutes at most) while the SMTP server is down; nothing is lost. */
export const alertActivity = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes' }, // no maximumAttempts: unlimited
} as const satisfies ActivityOptions;

/**
 * Validating or importing one file of the historical dump: long and heartbeated; retried
 * without limit on transient errors (an outage during a backfill of hours is waited out, and
 * the import resumes from its chunk markers), stopped by data and permanent D1 errors.
 */
export const backfillActivity = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', nonRetryableErrorTypes: permanentD1Errors },
} as const satisfies ActivityOptions;
