import type { ActivityOptions } from '@temporalio/workflow';

/** A quick call to D1: retried with backoff on transient errors, permanent errors stop it. */
export const shortActivity = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
} as const satisfies ActivityOptions;
