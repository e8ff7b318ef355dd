import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';
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

/**
 * validate, stage, publish and verify of a small file (`localStepsMaxBytes`), as local activities: run
 * by the worker that runs the workflow, in the workflow task that reaches them, so a table of a few
 * thousand rows does not pay a round trip through Temporal per step (the Web UI shows each as a local
 * activity, with its summary). Retried as `longActivity` is; backoffs under a minute wait in the
 * worker, longer ones on a timer in the history. No heartbeats: a dead worker's workflow task times
 * out and the next worker runs the step again, as it would a long activity's.
 */
export const localStepActivity = {
  startToCloseTimeout: '5 minutes',
  retry: longActivity.retry,
} as const satisfies LocalActivityOptions;

/**
 * A night's short bookkeeping steps (the re-check's query, the summary, the worker's task queue), as
 * local activities: one D1 request or none each, not worth a round trip through Temporal. Retried as
 * `shortActivity` is.
 */
export const localShortActivity = {
  startToCloseTimeout: shortActivity.startToCloseTimeout,
  retry: shortActivity.retry,
} as const satisfies LocalActivityOptions;

/**
 * The largest archived file whose steps run as local activities. At 1 MiB (about 20,000 rows of the
 * widest table) a step takes well under a second here, far inside the 10 s workflow task timeout; a
 * larger file runs them as activities of their own, heartbeated and resumable mid-stage.
 */
export const localStepsMaxBytes = 1 << 20;

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
