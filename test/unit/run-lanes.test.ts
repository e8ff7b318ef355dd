import { describe, it, expect } from 'vitest';
import { runLanes } from '../../workflows/concurrency.ts';

/** A task the test finishes by hand, so the order of events is the test's, not the clock's. */
function controlled() {
  const started: string[] = [];
  const finished: string[] = [];
  const pending = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const task = (item: string) =>
    new Promise<string>((resolve, reject) => {
      started.push(item);
      pending.set(item, {
        resolve: () => {
          finished.push(item);
          resolve(`${item} loaded`);
        },
        reject: (e) => {
          finished.push(item);
          reject(e);
        },
      });
    });
  const settle = async (item: string, how: 'ok' | 'fail') => {
    const p = pending.get(item);
    if (!p) throw new Error(`${item} was never started`);
    if (how === 'ok') p.resolve();
    else p.reject(new Error(`${item} failed`));
    // Let the lanes react (start the next task, or not) before the test goes on.
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return { task, started, finished, settle };
}

describe('runLanes (the fan-out of replayLoads)', () => {
  it('fail-fast: after a failure no task starts, the running one is waited for, and every outcome is answered in input order', async () => {
    const { task, started, finished, settle } = controlled();
    let done = false;
    const run = runLanes(['a', 'b', 'c', 'd', 'e'], 2, task, { stopAfterFailure: true }).finally(() => (done = true));
    await settle('a', 'ok'); // a's lane takes c
    expect(started).toEqual(['a', 'b', 'c']);
    await settle('b', 'fail'); // b's lane stops; c is still running
    expect(started).toEqual(['a', 'b', 'c']);
    expect(done).toBe(false);
    await settle('c', 'ok'); // c's lane sees the failure and takes nothing more
    const outcomes = await run;
    expect(started).toEqual(['a', 'b', 'c']);
    expect(finished).toEqual(['a', 'b', 'c']);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'not-started', 'not-started']);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 'a loaded' });
    const second = outcomes[1]!;
    expect(second.status === 'rejected' ? (second.reason as Error).message : second.status).toBe('b failed');
  });

  it('without fail-fast every task runs, failures included, never more than the limit at once', async () => {
    const { task, started, settle } = controlled();
    const run = runLanes(['a', 'b', 'c', 'd'], 2, task, { stopAfterFailure: false });
    expect(started).toEqual(['a', 'b']);
    await settle('a', 'fail');
    expect(started).toEqual(['a', 'b', 'c']);
    await settle('c', 'ok');
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    await settle('b', 'ok');
    await settle('d', 'fail');
    expect((await run).map((o) => o.status)).toEqual(['rejected', 'fulfilled', 'fulfilled', 'rejected']);
  });

  it('never rejects, even when every task fails', async () => {
    const outcomes = await runLanes([1, 2, 3], 4, () => Promise.reject(new Error('down')), { stopAfterFailure: true });
    // All three were started at once (limit 4): each fails; none was left unstarted.
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('handles no items', async () => {
    expect(await runLanes([], 4, () => Promise.resolve(1), { stopAfterFailure: true })).toEqual([]);
  });
});
