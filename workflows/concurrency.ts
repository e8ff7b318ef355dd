/**
 * Maps `items` through `task` with at most `limit` tasks in flight, keeping the input order in
 * the result. Deterministic: tasks start in input order. The first failure rejects at once and
 * the other lanes go on starting tasks (as released; workflows use runLanes for fail-fast).
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}

/** How one item of runLanes went: done, failed, or never started (a lane had failed before its turn). */
export type LaneOutcome<R> = { status: 'fulfilled'; value: R } | { status: 'rejected'; reason: unknown } | { status: 'not-started' };

/**
 * Runs `task` over `items` with at most `limit` in flight, tasks starting in input order, and
 * settles every one: it never rejects, and answers each item's outcome in input order. With
 * `stopAfterFailure`, fail-fast: once a task has failed no lane starts another (the items left
 * are `not-started`), while the tasks already running are awaited to their end, so nothing
 * started is left running behind the caller. Without it, every item runs whatever fails.
 */
export async function runLanes<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>, options: { stopAfterFailure: boolean }): Promise<LaneOutcome<R>[]> {
  const outcomes: LaneOutcome<R>[] = items.map(() => ({ status: 'not-started' }));
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (next < items.length && !(failed && options.stopAfterFailure)) {
      const index = next++;
      try {
        outcomes[index] = { status: 'fulfilled', value: await task(items[index]!) };
      } catch (reason) {
        failed = true;
        outcomes[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return outcomes;
}
