import type { ActivityOptions } from '@temporalio/workflow';

/** D1 errors that retrying cannot fix (the SQL or the token is wrong). */
const permanentD1Errors = ['D1SqlError', 'D1AuthError'];

/** A quick call to D1: retried with backoff on transient errors, permanent errors stop it. */
export const shortActivity = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: permanentD1Errors },
} as const satisfies ActivityOptions;

/** Finding and archiving an export: may wait until the export deadline (06:00) for Sodiwin to finish writing the file. */
export const fetchActivity = {
  startToCloseTimeout: '8 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10, nonRetryableErrorTypes: permanentD1Errors },
} as const satisfies ActivityOptions;

/**
 * Streaming a whole file (validate, stage), merging it (publish) or reconciling it (verify):
 * long, heartbeated (a dead worker is noticed within 30 s), resumable.
 */
export const longActivity = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 10, nonRetryableErrorTypes: permanentD1Errors },
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
