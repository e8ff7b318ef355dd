import { Context } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.ts';
import { startNightly } from '../../client/nightly.ts';
import { etlStatusKey } from '../../common/search-attributes.ts';
import { tableContracts } from '../../contracts/index.ts';
import { generateExports } from '../../generator/index.ts';
import { leaseStateQuery, nightlyRun, waitingForLeaseStatus, warehouseLeaseWorkflowId, type LeaseState } from '../../workflows/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { eventually } from '../support/eventually.ts';
import { allChecksums, runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';
import { recordHistoriesOf } from '../support/histories.ts';

const days = ['2027-02-15', '2027-02-16', '2027-02-17'];
const [day1, day2, day3] = days as [string, string, string];
const generated = { from: day1, days: days.length, scale: 0.3, seed: 61 };

/** A promise the test resolves when it wants. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('a whole-warehouse restore never runs while a load writes (the warehouse lease)', () => {
  let warehouse: IsolatedWarehouse;
  let clean: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let cleanWorker: Awaited<ReturnType<typeof startWorker>>;
  const reached = gate();
  const release = gate();
  let cleanNights: Promise<Awaited<ReturnType<typeof allChecksums>>>;

  beforeAll(async () => {
    [warehouse, clean] = await Promise.all([startIsolatedWarehouse(), startIsolatedWarehouse()]);
    await Promise.all([generateExports({ outDir: warehouse.inbox, ...generated }), generateExports({ outDir: clean.inbox, ...generated })]);
    // Day 3's customers publish stops half-way through the night until the test lets it go (heartbeating, as the real one does).
    worker = await startWorker(warehouse.config, (activities: Activities) => ({
      ...activities,
      async publishLoad(input) {
        if (input.table === 'customers' && input.businessDate === day3) {
          reached.open();
          const beat = setInterval(() => Context.current().heartbeat(), 2_000);
          try {
            await release.opened;
          } finally {
            clearInterval(beat);
          }
        }
        return activities.publishLoad(input);
      },
    }));
    cleanWorker = await startWorker(clean.config);
    // The same nights, clean, under workflow ids of their own (nightly-<date> is the other warehouse's), meanwhile.
    cleanNights = (async () => {
      for (const businessDate of days) {
        const summary = await clean.client.workflow.execute(nightlyRun, { workflowId: `clean-nightly-${businessDate}`, taskQueue: clean.config.temporal.taskQueue, args: [{ businessDate, maxParallel: clean.config.load.maxParallel, recheckDays: clean.config.load.recheckDays }] });
        expect(summary.status).toBe('ok');
      }
      return allChecksums(clean.d1);
    })();
  });
  afterAll(async () => {
    release.open();
    await cleanNights?.catch(() => undefined);
    await worker?.stop();
    await cleanWorker?.stop();
    await warehouse?.close();
    await clean?.close();
  });

  it('a rollback started during a nightly run waits for it, then restores and replays: the warehouse ends as a clean run', async () => {
    for (const day of [day1, day2]) expect((await runNight(warehouse, day)).status).toBe('ok');
    const [bookmarks] = await warehouse.d1.query<{ taken_at: string }>('SELECT taken_at FROM etl_bookmarks WHERE business_date = ?', [day2]);
    const to = bookmarks!.results[0]!.taken_at;

    const nightly = await startNightly(warehouse.client, warehouse.config, day3);
    await reached.opened;
    const rollback = runWarehouse(['rollback', '--to', to], warehouse.env, 110_000);
    const rollbackId = `rollback-${new Date(to).toISOString().replace(/[:.]/g, '-')}`;
    const lease = warehouse.client.workflow.getHandle(warehouseLeaseWorkflowId(warehouse.config.temporal.taskQueue));

    // The rollback is signed and accepted, then queued behind the nightly run's shared grant.
    const waiting = await eventually(
      () => lease.query(leaseStateQuery).catch((): LeaseState => ({ holders: [], queue: [] })),
      (s) => s.queue.some((q) => q.workflowId === rollbackId),
      30_000,
    );
    expect(waiting.holders).toMatchObject([{ workflowId: nightly.workflowId, kind: 'shared' }]);
    expect(waiting.queue).toMatchObject([{ workflowId: rollbackId, kind: 'exclusive' }]);
    // Anyone who reaches Temporal can signal the lease: malformed requests and releases change nothing and jam nothing.
    for (const [name, payload] of [['requestLease', null], ['requestLease', { token: 'x', kind: 'EXCLUSIVE', workflowId: 'mallory', chain: 'c' }], ['releaseLease', null], ['releaseLease', 42]] as const) {
      await lease.signal(name, payload);
    }
    expect(await lease.query(leaseStateQuery)).toMatchObject({ holders: [{ workflowId: nightly.workflowId }], queue: [{ workflowId: rollbackId }] });
    const status = async () => (await warehouse.client.workflow.getHandle(rollbackId).describe()).typedSearchAttributes.get(etlStatusKey);
    expect(await eventually(status, (s) => s === waitingForLeaseStatus, 10_000)).toBe(waitingForLeaseStatus);

    // The other tables of day 3 go on loading meanwhile, and nothing is restored under them.
    const verifiedDay3 = async () => (await warehouse.d1.query<{ n: number }>("SELECT count(*) AS n FROM etl_loads WHERE business_date = ? AND status = 'verified'", [day3]))[0]!.results[0]!.n;
    expect(await eventually(verifiedDay3, (n) => n === tableContracts.length - 1, 60_000)).toBe(tableContracts.length - 1);
    const [run] = await warehouse.d1.query<{ status: string }>('SELECT status FROM etl_runs WHERE business_date = ?', [day3]);
    expect(run?.results).toEqual([{ status: 'running' }]);
    expect(await status()).toBe(waitingForLeaseStatus);
    expect((await lease.query(leaseStateQuery)).queue.map((q) => q.workflowId)).toEqual([rollbackId]);

    release.open();
    expect((await nightly.result()).status).toBe('ok');
    const done = await rollback;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain(`replayed ${2 * tableContracts.length} loads: ${day2}, ${day3}`);
    expect(await status()).toBe('rollback-done');

    // Restored to before night 2, then nights 2 and 3 replayed: exactly a clean run of the three nights.
    expect(await allChecksums(warehouse.d1)).toEqual(await cleanNights);
    const [halfDone] = await warehouse.d1.query<{ n: number }>("SELECT count(*) AS n FROM etl_loads WHERE status NOT IN ('verified', 'unchanged')");
    expect(halfDone?.results).toEqual([{ n: 0 }]);
    expect(await lease.query(leaseStateQuery)).toEqual({ holders: [], queue: [] });
    await recordHistoriesOf(warehouse, 'warehouseLease', { status: 'Running' });
    await recordHistoriesOf(warehouse, 'manualRollback', { status: 'Completed', variant: 'after-lease' });
  }, 300_000);
});
