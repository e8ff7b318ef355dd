import { setTimeout as sleep } from 'node:timers/promises';
import { asyncLocalStorage as activityContext } from '@temporalio/activity';

// Cancellation as the D1 client and the activities observe it (here, the lowest layer that may use Node's timers).

/**
 * The running activity's cancellation signal: it aborts when the workflow cancels the activity
 * (learnt at a heartbeat) or when the worker shuts down and its grace time is over. Undefined
 * outside an activity (the CLI, unit tests), where nothing cancels.
 */
export function activityCancellation(): AbortSignal | undefined {
  return activityContext.getStore()?.cancellationSignal;
}

/**
 * Waits `ms`, or until `signal` aborts: then throws the signal's reason (the activity's
 * CancelledFailure), so a waiting activity ends at once as cancelled instead of sleeping on.
 * Pass `activityCancellation()` in an activity.
 */
export async function sleepUnlessCancelled(ms: number, signal: AbortSignal | undefined): Promise<void> {
  signal?.throwIfAborted();
  await sleep(ms, undefined, signal ? { signal } : undefined).catch((error: unknown) => cancellationOr(error, signal));
}

/**
 * Rethrows what ended a stream or a call: the cancellation's reason when `signal` has aborted
 * (node reports an aborted pipeline as a plain AbortError), else `error` unchanged.
 */
export function cancellationOr(error: unknown, signal: AbortSignal | undefined): never {
  signal?.throwIfAborted();
  throw error;
}
