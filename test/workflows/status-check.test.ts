import { copyFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../../common/business-dates.ts';
import { expectedLoadedThrough } from '../../common/zoned-time.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { incidentStateQuery, incidentWorkflowId } from '../../workflows/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { eventually } from '../support/eventually.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

describe('warehouse status --check: a monitor can page on a stale table or an open incident', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  // On the real clock, the latest date that must be loaded by now with an export deadline of 00:00 in Paris
  // (yesterday, or the day before in the half hour after midnight), and the day before it.
  const yesterday = expectedLoadedThrough(new Date(), '00:00', 'Europe/Paris', 30 * 60_000);
  const dayBefore = addDays(yesterday, -1);

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse({ EXPORT_DEADLINE: '00:00', WAREHOUSE_TIMEZONE: 'Europe/Paris' });
    await generateExports({ outDir: warehouse.inbox, from: dayBefore, days: 2, scale: 0.2, seed: 31 });
    worker = await startWorker(warehouse.config);
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('fails while stock is a day behind with its incident open, and passes once the repair has loaded it', async () => {
    expect((await runNight(warehouse, dayBefore)).status).toBe('ok');
    // Yesterday's stock file does not arrive.
    const stockFile = join(warehouse.inbox, exportFileName(contractFor('stock'), yesterday));
    await rename(stockFile, `${stockFile}.late`);
    expect((await runNight(warehouse, yesterday)).tables.find((t) => t.table === 'stock')).toMatchObject({ status: 'failed', errorType: 'ExportMissing' });

    const failing = await runWarehouse(['status', '--check'], warehouse.env);
    expect(failing.code, failing.stderr).toBe(2);
    expect(failing.stdout).toContain(`CHECK FAILED: stock is loaded through ${dayBefore}, 1 day(s) behind ${yesterday}`);
    expect(failing.stdout).toContain(`CHECK FAILED: incident incident-stock-${yesterday} is open`);
    expect(failing.stdout.match(/CHECK FAILED/g)).toHaveLength(2);
    const json = JSON.parse((await runWarehouse(['status', '--check', '--json'], warehouse.env)).stdout);
    expect(json).toMatchObject({ expected: yesterday, ok: false });
    expect(json.tables.find((t: { table_name: string }) => t.table_name === 'stock')).toMatchObject({ watermark: dayBefore, lag_days: 1, open_incident: `incident-stock-${yesterday}` });
    expect(json.tables.filter((t: { lag_days: number }) => t.lag_days === 0)).toHaveLength(12);
    // A day's lag is allowed with --max-lag-days 1, but the open incident still fails the check.
    const tolerant = await runWarehouse(['status', '--check', '--max-lag-days', '1'], warehouse.env);
    expect(tolerant.code).toBe(2);
    expect(tolerant.stdout.match(/CHECK FAILED/g)).toEqual(['CHECK FAILED']);

    // The file arrives; Paul approves; the repair loads it.
    await copyFile(`${stockFile}.late`, stockFile);
    const incidentId = incidentWorkflowId('stock', yesterday);
    expect((await runWarehouse(['approve', incidentId, '--wait'], warehouse.env)).code).toBe(0);
    await eventually(() => warehouse.client.workflow.getHandle(incidentId).query(incidentStateQuery), (s) => s.status === 'resolved');

    const passing = await runWarehouse(['status', '--check'], warehouse.env);
    expect(passing.code, passing.stdout).toBe(0);
    expect(passing.stdout).toContain(`check ok: every table is loaded through ${yesterday} or later, no open incident`);

    // A day skipped in the middle with no incident (the load of the day before lost, say): every
    // watermark is current, and the check still fails, naming the table and the day.
    await warehouse.d1.query("UPDATE etl_loads SET status = 'reverted' WHERE table_name = 'brands' AND business_date = ?", [dayBefore]);
    const gap = await runWarehouse(['status', '--check'], warehouse.env);
    expect(gap.code, gap.stdout).toBe(2);
    expect(gap.stdout.match(/CHECK FAILED.*/g)).toEqual([`CHECK FAILED: brands has no verified load for ${dayBefore}, a night the other tables loaded, and no open incident holds it back`]);

    // A table a day behind with no incident (its last night not loaded yet, say), allowed by --max-lag-days 1:
    // the check passes and says which table lags and through which date, never "every table is loaded".
    await warehouse.d1.query("UPDATE etl_loads SET status = 'verified' WHERE table_name = 'brands' AND business_date = ?", [dayBefore]);
    await warehouse.d1.query("UPDATE etl_watermarks SET business_date = ? WHERE table_name = 'stock'", [dayBefore]);
    const lagging = await runWarehouse(['status', '--check', '--max-lag-days', '1'], warehouse.env);
    expect(lagging.code, lagging.stdout).toBe(0);
    expect(lagging.stdout.match(/^check ok.*/gm)).toEqual([
      `check ok: stock is loaded through ${dayBefore}, 1 day(s) behind ${yesterday}, within the 1 day(s) --max-lag-days allows`,
      `check ok: every other table is loaded through ${yesterday} or later, no open incident, no day skipped in the last 31`,
    ]);
    const laggingJson = JSON.parse((await runWarehouse(['status', '--check', '--max-lag-days', '1', '--json'], warehouse.env)).stdout);
    expect(laggingJson).toMatchObject({ ok: true, maxLagDays: 1, laggingWithinAllowed: [{ table_name: 'stock', watermark: dayBefore, lag_days: 1 }] });
  }, 180_000);

  it('an empty warehouse is not healthy: exit 2 and one line saying nothing is loaded yet, before and after migrate', async () => {
    const empty = await startIsolatedWarehouse();
    try {
      for (const step of ['never migrated', 'migrated']) {
        if (step === 'migrated') expect((await runWarehouse(['migrate'], empty.env)).code).toBe(0);
        const check = await runWarehouse(['status', '--check'], empty.env);
        expect(check.code, `${step}: ${check.stdout}${check.stderr}`).toBe(2);
        expect(check.stdout.match(/CHECK FAILED.*/g), step).toEqual([expect.stringMatching(/^CHECK FAILED: nothing is loaded yet: /)]);
        expect(check.stderr, step).toBe('');
        const json = await runWarehouse(['status', '--check', '--json'], empty.env);
        expect(json.code, step).toBe(2);
        expect(JSON.parse(json.stdout), step).toMatchObject({ ok: false, problems: [expect.stringMatching(/^nothing is loaded yet: /)] });
      }
    } finally {
      await empty.close();
    }
  }, 120_000);
});
