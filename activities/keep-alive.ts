import { Context } from '@temporalio/activity';

/**
 * Heartbeats every `everyMs` while `work` runs, so that if this worker dies the
 * server notices within the activity's heartbeat timeout and retries elsewhere,
 * instead of waiting for the start-to-close timeout. Each beat repeats `details`.
 */
export async function whileHeartbeating<T>(work: () => Promise<T>, details?: unknown, everyMs = 5000): Promise<T> {
  const context = Context.current();
  context.heartbeat(details);
  const timer = setInterval(() => context.heartbeat(details), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
