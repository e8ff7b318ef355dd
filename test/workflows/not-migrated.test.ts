import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControlStore, WarehouseNotMigrated } from '../../activities/control-store.ts';
import { tableContracts } from '../../contracts/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { startIsolatedWarehouse, type IsolatedWarehouse } from '../support/warehouse.ts';

/**
 * A warehouse nobody migrated holds no control table. The readers do not probe for one: the
 * control store turns D1's "no such table" into WarehouseNotMigrated, and the CLI prints it
 * as one line naming the fix, exit 1, no stack trace and no empty answer.
 */
describe('a CLI reader on a warehouse never migrated', () => {
  let warehouse: IsolatedWarehouse;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it('the store refuses with WarehouseNotMigrated, naming the missing table', async () => {
    const store = createControlStore(warehouse.d1);
    const refusal = await store.loads.latestPerTable(null).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(WarehouseNotMigrated);
    expect(refusal).toMatchObject({ type: 'WarehouseNotMigrated', table: 'etl_loads', message: expect.stringContaining('run `warehouse migrate`') });
    await expect(store.watermarks.of('orders')).rejects.toMatchObject({ type: 'WarehouseNotMigrated', table: 'etl_watermarks' });
  });

  it('status, incidents and report refuse in one readable line (status --check answers "nothing is loaded yet", exit 2: test/workflows/status-check.test.ts)', async () => {
    const runs = await Promise.all([['status'], ['incidents'], ['report', 'receivables-aging']].map((args) => runWarehouse(args, warehouse.env, 120_000)));
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^warehouse: the warehouse has no control schema yet \(no table etl_\w+\): it was never migrated; run `warehouse migrate`/);
      expect(run.stderr).not.toMatch(/\n\s+at |WAREHOUSE_DEBUG/);
    }
  });

  it('after `warehouse migrate` the same readers answer', async () => {
    const migrate = await runWarehouse(['migrate'], warehouse.env, 120_000);
    expect(migrate.code).toBe(0);
    const status = await runWarehouse(['status', '--json'], warehouse.env, 120_000);
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout) as { table_name: string; status: string }[];
    expect(rows.map((r) => [r.table_name, r.status])).toEqual(tableContracts.map((c) => [c.table, 'never loaded']));
  });
});
