import { Context } from '@temporalio/activity';

/** Heartbeats `details` (an activity's progress, what a retry resumes from), unless the activity is local: a local activity cannot heartbeat. */
export function heartbeatProgress(details: unknown): void {
  const context = Context.current();
  if (!context.info.isLocal) context.heartbeat(details);
}

/**
 * Heartbeats every `everyMs` while `work` runs, so that if this worker dies the
 * server notices within the activity's heartbeat timeout and retries elsewhere,
 * instead of waiting for the start-to-close timeout. Each beat repeats `details`, or
 * asks it afresh when it is a function (what a waiting fetch waits for, shown in the Web UI).
 * A local activity runs `work` alone.
 */
export async function whileHeartbeating<T>(work: () => Promise<T>, details?: unknown, everyMs = 5000): Promise<T> {
  const context = Context.current();
  // A local activity (a small file's step) cannot heartbeat: its workflow task is what times out.
  if (context.info.isLocal) return work();
  const beat = () => context.heartbeat(typeof details === 'function' ? (details as () => unknown)() : details);
  beat();
  const timer = setInterval(beat, everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
