import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.ts';
import { generateExports } from '../../generator/index.ts';
import { allChecksums, runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const [day1, day2] = ['2027-07-05', '2027-07-06'];

describe('a failure after publish is compensated by revert-by-load', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  /** What the customers load of day 2 had written when verify ran. */
  const published: { loadId?: string; inserted?: number; closed?: number } = {};

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: day1, days: 2, scale: 1, seed: 21 });
    // Fault injection in verify: on day 2, one version the customers load just published
    // disappears before the real verify runs, so the load does not reconcile.
    worker = await startWorker(warehouse.config, (activities: Activities) => ({
      ...activities,
      async verifyLoad(input) {
        if (input.table === 'customers' && input.businessDate === day2) {
          const count = async (column: string) => (await warehouse.d1.query<{ n: number }>(`SELECT count(*) AS n FROM customers WHERE ${column} = ?`, [input.loadId]))[0]!.results[0]!.n;
          Object.assign(published, { loadId: input.loadId, inserted: await count('_loaded_by'), closed: await count('_closed_by') });
          await warehouse.d1.query('DELETE FROM customers WHERE rowid = (SELECT min(rowid) FROM customers WHERE _loaded_by = ?)', [input.loadId]);
        }
        return activities.verifyLoad(input);
      },
    }));
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('reverts the published versions, quarantines the file, and leaves every checksum as before the run', async () => {
    expect((await runNight(warehouse, day1)).status).toBe('ok');
    const before = await allChecksums(warehouse.d1);

    const summary = await runNight(warehouse, day2);
    const customers = summary.tables.find((t) => t.table === 'customers');
    expect(customers).toMatchObject({ status: 'failed', errorType: 'CountMismatch' });
    expect(customers?.status === 'failed' && customers.message).toContain(`versions inserted by the load: expected ${published.inserted}, found ${published.inserted! - 1}`);
    // The load had really written: new versions and closed ones.
    expect(published.loadId).toMatch(new RegExp(`^${day2}_customers_`));
    const loadId = String(published.loadId);
    expect(published.inserted).toBeGreaterThan(0);
    expect(published.closed).toBeGreaterThan(0);

    const [left] = await warehouse.d1.query<{ n: number }>('SELECT count(*) AS n FROM customers WHERE _loaded_by = ? OR _closed_by = ?', [loadId, loadId]);
    expect(left?.results[0]?.n).toBe(0);
    const [staged] = await warehouse.d1.query<{ n: number }>('SELECT count(*) AS n FROM _stage_customers WHERE _load_id = ?', [loadId]);
    expect(staged?.results[0]?.n).toBe(0);
    const after = await allChecksums(warehouse.d1);
    expect(after.find((c) => c.table === 'customers')).toEqual(before.find((c) => c.table === 'customers'));
    // The other tables loaded day 2 normally.
    expect(summary.tables.filter((t) => t.table !== 'customers').map((t) => t.status)).toEqual(Array(12).fill('loaded'));

    const [load] = await warehouse.d1.query('SELECT status, error_type FROM etl_loads WHERE load_id = ?', [loadId]);
    expect(load?.results).toEqual([{ status: 'quarantined', error_type: 'CountMismatch' }]);
    const [watermark] = await warehouse.d1.query<{ business_date: string }>("SELECT business_date FROM etl_watermarks WHERE table_name = 'customers'");
    expect(watermark?.results[0]?.business_date).toBe(day1);
    const quarantine = join(warehouse.dir, 'nas', 'quarantine', day2, 'customers');
    expect((await readdir(quarantine)).sort()).toEqual(['CLIENTS_20270706.csv', 'reason.json']);
    expect(JSON.parse(await readFile(join(quarantine, 'reason.json'), 'utf8'))).toMatchObject({ errorType: 'CountMismatch', loadId });
  }, 180_000);
});
