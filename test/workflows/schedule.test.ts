import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nightlyScheduleOptions } from '../../client/schedule.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { nightlyRun, type ScheduledNightlyResult } from '../../workflows/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { parseMessage } from '../support/mail.ts';
import { uniqueName } from '../support/environment.ts';
import { startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';
import { recordHistoriesOf } from '../support/histories.ts';
import { eventually } from '../support/eventually.ts';

const brandsBaseline = join(import.meta.dirname, '..', 'fixtures', 'hostile', 'baseline', 'brands.csv');

describe('the 03:00 Europe/Paris schedule across the clock changes', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    worker = await startWorker(warehouse.config);
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('runs exactly once per business date, the day before the local date of each run, around 2026-03-29 and 2026-10-25', async () => {
    const dates = ['2026-03-26', '2026-03-27', '2026-03-28', '2026-03-29', '2026-03-30', '2026-10-22', '2026-10-23', '2026-10-24', '2026-10-25', '2026-10-26'];
    await mkdir(warehouse.inbox, { recursive: true });
    for (const date of dates) await copyFile(brandsBaseline, join(warehouse.inbox, exportFileName(contractFor('brands'), date)));

    const scheduleId = uniqueName('schedule');
    const options = nightlyScheduleOptions(warehouse.config, { time: '03:00', timeZone: 'Europe/Paris', catchupWindow: '1 day' }, scheduleId);
    if (options.action.type === 'startWorkflow') options.action.args = [{ ...(options.action.args![0] as object), tables: ['brands'] }];
    const handle = await warehouse.client.schedule.create(options);
    try {
      // The runs the schedule would have made in those two weeks, one after the other (BUFFER_ALL keeps date order).
      await handle.backfill([
        { start: new Date('2026-03-27T00:00:00Z'), end: new Date('2026-04-01T00:00:00Z'), overlap: ScheduleOverlapPolicy.BUFFER_ALL },
        { start: new Date('2026-10-23T00:00:00Z'), end: new Date('2026-10-28T00:00:00Z'), overlap: ScheduleOverlapPolicy.BUFFER_ALL },
      ]);
      const query = `WorkflowType = 'scheduledNightly' AND TemporalScheduledById = '${scheduleId}' AND ExecutionStatus = 'Completed'`;
      const listRuns = async () => {
        const runs: string[] = [];
        for await (const execution of warehouse.client.workflow.list({ query })) runs.push(execution.workflowId);
        return runs;
      };
      const runIds = await eventually(listRuns, (ids) => ids.length >= 10, 180_000);
      const results: ScheduledNightlyResult[] = [];
      for (const id of runIds) results.push(await warehouse.client.workflow.getHandle(id).result());
      results.sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt));
      await recordHistoriesOf(warehouse, 'scheduledNightly', { status: 'Completed' });

      // 03:00 in Paris is 02:00 UTC in winter and 01:00 UTC in summer (from 29 March to 24 October).
      expect(results.map((r) => [r.scheduledAt, r.businessDate])).toEqual([
        ['2026-03-27T02:00:00.000Z', '2026-03-26'],
        ['2026-03-28T02:00:00.000Z', '2026-03-27'],
        ['2026-03-29T01:00:00.000Z', '2026-03-28'],
        ['2026-03-30T01:00:00.000Z', '2026-03-29'],
        ['2026-03-31T01:00:00.000Z', '2026-03-30'],
        ['2026-10-23T01:00:00.000Z', '2026-10-22'],
        ['2026-10-24T01:00:00.000Z', '2026-10-23'],
        ['2026-10-25T02:00:00.000Z', '2026-10-24'],
        ['2026-10-26T02:00:00.000Z', '2026-10-25'],
        ['2026-10-27T02:00:00.000Z', '2026-10-26'],
      ]);
      expect(results.map((r) => [r.nightlyWorkflowId, r.summary?.status])).toEqual(dates.map((d) => [`nightly-${d}`, 'ok']));
      const [runs] = await warehouse.d1.query<{ business_date: string; n: number }>('SELECT business_date, count(*) AS n FROM etl_runs GROUP BY business_date ORDER BY business_date');
      expect(runs?.results).toEqual(dates.map((business_date) => ({ business_date, n: 1 })));
    } finally {
      await handle.delete();
    }
  }, 240_000);

  it('waits for a late export until the deadline, loads it when it arrives, and fails a missing one with ExportMissing, alerted', async () => {
    // A deadline a few seconds from now (time for the worker to start): the business date is the day before the deadline's date (UTC here).
    const deadline = new Date(Date.now() + 12_000);
    const businessDate = new Date(Date.UTC(deadline.getUTCFullYear(), deadline.getUTCMonth(), deadline.getUTCDate() - 1)).toISOString().slice(0, 10);
    const late = await startIsolatedWarehouse({ EXPORT_DEADLINE: deadline.toISOString().slice(11, 19), WAREHOUSE_TIMEZONE: 'UTC', EXPORT_POLL_MS: '200' });
    const lateWorker = await startWorker(late.config);
    try {
      await mkdir(late.inbox, { recursive: true });
      const night = late.client.workflow.start(nightlyRun, {
        workflowId: `nightly-${businessDate}`,
        taskQueue: late.config.temporal.taskQueue,
        args: [{ businessDate, tables: ['brands', 'depots'] }],
      });
      await new Promise((resolve) => setTimeout(resolve, 2000));
      // Brands arrives two seconds late; depots never does.
      await copyFile(brandsBaseline, join(late.inbox, exportFileName(contractFor('brands'), businessDate)));
      const summary = await (await night).result();
      const finishedAt = Date.now();
      expect(summary.tables.find((t) => t.table === 'brands')).toMatchObject({ status: 'loaded', rowsRead: 10 });
      const depots = summary.tables.find((t) => t.table === 'depots');
      expect(depots).toMatchObject({ status: 'failed', errorType: 'ExportMissing' });
      expect(depots?.status === 'failed' && depots.message).toContain(`no export file DEPOTS_${businessDate.replaceAll('-', '')}.csv in ${late.inbox} at the deadline (${deadline.toISOString().slice(0, 10)} ${deadline.toISOString().slice(11, 19).replace(/:00$/, '')} UTC)`);
      expect(finishedAt).toBeGreaterThanOrEqual(Math.floor(deadline.getTime() / 1000) * 1000);

      const mailDir = join(late.dir, 'var', 'mail');
      const mails = await eventually(() => readdir(mailDir).catch(() => [] as string[]), (files) => files.length > 0, 30_000);
      expect(mails).toEqual([`incident-depots-${businessDate}.eml`]);
      expect(parseMessage(await readFile(join(mailDir, mails[0]!), 'latin1')).headers.subject).toContain(`[warehouse] depots ${businessDate}: ExportMissing — `);
    } finally {
      await lateWorker.stop();
      await late.close();
    }
  }, 120_000);
});

describe('warehouse schedule: create, describe in Paris time, pause, unpause, trigger, delete', () => {
  let warehouse: IsolatedWarehouse;
  afterAll(async () => {
    if (warehouse) await runWarehouse(['schedule', 'delete'], warehouse.env);
    await warehouse?.close();
  });

  it('shows the next runs at 03:00 Paris time with the business date each loads', async () => {
    warehouse = await startIsolatedWarehouse();
    const created = await runWarehouse(['schedule', 'create', '--json'], warehouse.env);
    expect(created.code, created.stderr).toBe(0);
    const summary = JSON.parse(created.stdout);
    expect(summary).toMatchObject({ outcome: 'created', scheduleId: 'nightly', paused: false, timeZone: 'Europe/Paris', overlap: 'SKIP', catchupWindowMs: 86_400_000, pauseOnFailure: false });
    expect(summary.nextRuns.length).toBeGreaterThan(0);
    for (const run of summary.nextRuns) {
      expect(run.local).toMatch(/^\d{4}-\d{2}-\d{2} 03:00 Europe\/Paris$/);
      const localDate = run.local.slice(0, 10);
      expect(run.businessDate).toBe(new Date(Date.parse(`${localDate}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10));
    }

    const described = await runWarehouse(['schedule', 'describe'], warehouse.env);
    expect(described.stdout).toContain('schedule nightly: active');
    expect(described.stdout).toMatch(/\d{4}-\d{2}-\d{2} 03:00 Europe\/Paris {2}loads \d{4}-\d{2}-\d{2}/);

    expect((await runWarehouse(['schedule', 'pause', '--note', 'NAS maintenance'], warehouse.env)).code).toBe(0);
    expect((await runWarehouse(['schedule', 'describe'], warehouse.env)).stdout).toContain('schedule nightly: PAUSED (NAS maintenance)');
    expect((await runWarehouse(['schedule', 'unpause'], warehouse.env)).code).toBe(0);
    expect((await runWarehouse(['schedule', 'describe'], warehouse.env)).stdout).toContain('schedule nightly: active');

    const again = await runWarehouse(['schedule', 'create', '--time', '04:30', '--json'], warehouse.env);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'updated' });
    expect(JSON.parse(again.stdout).nextRuns[0].local).toMatch(/ 04:30 Europe\/Paris$/);

    // No worker on this task queue: the triggered run is started and waits; it is found by the schedule.
    expect((await runWarehouse(['schedule', 'trigger'], warehouse.env)).code).toBe(0);
    const withRun = await eventually(
      async () => JSON.parse((await runWarehouse(['schedule', 'describe', '--json'], warehouse.env)).stdout),
      (s) => s.recentRuns.length > 0,
      30_000,
    );
    expect(withRun.recentRuns[0].workflowId).toMatch(/^scheduled-nightly-/);
    expect(withRun.recentRuns[0]).toMatchObject({ status: 'RUNNING', outcome: 'running' });
    await warehouse.client.workflow.getHandle(withRun.recentRuns[0].workflowId).terminate('test over');
    const afterTerminate = await runWarehouse(['schedule', 'describe'], warehouse.env);
    expect(afterTerminate.stdout).toContain(`  ${withRun.recentRuns[0].businessDate}: terminated  (${withRun.recentRuns[0].workflowId})`);
    expect(afterTerminate.stdout).not.toContain('loaded');

    const deleted = await runWarehouse(['schedule', 'delete'], warehouse.env);
    expect(deleted.code).toBe(0);
    const missing = await runWarehouse(['schedule', 'describe'], warehouse.env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('there is no schedule "nightly": create it with `warehouse schedule create`');
  }, 120_000);
});
