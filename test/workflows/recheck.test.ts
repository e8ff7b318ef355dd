import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import type { RecheckResult } from '../../workflows/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { allChecksums, runNight, startIsolatedWarehouse, startWorker } from '../support/warehouse.ts';
import { recordHistoriesOf } from '../support/histories.ts';

const days = ['2026-09-14', '2026-09-15', '2026-09-16', '2026-09-17', '2026-09-18'];

/** Sodiwin's correction of one field of one data line (1-based line, 0-based field). */
async function correctField(inbox: string, table: string, businessDate: string, line: number, field: number, value: string): Promise<void> {
  const path = join(inbox, exportFileName(contractFor(table), businessDate));
  const lines = iconv.decode(await readFile(path), 'win1252').split('\r\n');
  const fields = lines[line - 1]!.split(';');
  expect(fields[field]).not.toBe(value);
  fields[field] = value;
  lines[line - 1] = fields.join(';');
  await writeFile(path, iconv.encode(lines.join('\r\n'), 'win1252'));
}

/** The two corrections Sodiwin sends: a customer's name on day 2 (full snapshot), an order's total on day 3 (delta). */
async function correctedExports(inbox: string, which: 'day2' | 'day3' | 'both'): Promise<void> {
  if (which !== 'day3') await correctField(inbox, 'customers', days[1]!, 3, 1, 'Épicerie Corrigée SARL');
  if (which !== 'day2') await correctField(inbox, 'orders', days[2]!, 2, 6, '1234,56');
}

async function warehouseWithWorker() {
  const warehouse = await startIsolatedWarehouse();
  await generateExports({ outDir: warehouse.inbox, from: days[0]!, days: days.length, scale: 0.3, seed: 17 });
  const worker = await startWorker(warehouse.config);
  return { warehouse, worker };
}

describe('late corrections: a re-exported earlier day is rewound and replayed', () => {
  let clean: Awaited<ReturnType<typeof warehouseWithWorker>>;
  let late: Awaited<ReturnType<typeof warehouseWithWorker>>;

  beforeAll(async () => {
    [clean, late] = await Promise.all([warehouseWithWorker(), warehouseWithWorker()]);
    await correctedExports(clean.warehouse.inbox, 'both');
  });
  afterAll(async () => {
    for (const w of [clean, late]) {
      await w?.worker.stop();
      await w?.warehouse.close();
    }
  });

  it('ends with the history of a clean run over the corrected files, by warehouse recheck and by the next night', async () => {
    for (const day of days) expect((await runNight(clean.warehouse, day)).status).toBe('ok');
    const { warehouse } = late;
    for (const day of days.slice(0, 4)) expect((await runNight(warehouse, day)).status).toBe('ok');
    expect(await allChecksums(warehouse.d1)).not.toEqual(await allChecksums(clean.warehouse.d1));

    // Nothing changed yet: the re-check says so and touches nothing.
    const before = await allChecksums(warehouse.d1);
    const nothing = await runWarehouse(['recheck', '--date', days[1]!], warehouse.env);
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.stdout).toContain(`re-check of ${days[1]}: no export changed since it was loaded`);
    expect(await allChecksums(warehouse.d1)).toEqual(before);

    // Sodiwin re-sends day 2's customers; an operator runs the re-check.
    await correctedExports(warehouse.inbox, 'day2');
    const rechecked = await runWarehouse(['recheck', '--date', days[1]!, '--json'], warehouse.env);
    expect(rechecked.code, rechecked.stderr).toBe(0);
    const result = JSON.parse(rechecked.stdout) as RecheckResult;
    expect(result).toEqual({
      businessDate: days[1],
      rechecked: [{ table: 'customers', replayed: days.slice(1, 4).map((businessDate) => ({ businessDate, status: 'loaded' })) }],
      skipped: [],
    });
    const [customersAsOfDay2] = await warehouse.d1.query<{ name: string }>("SELECT name FROM customers WHERE name = 'Épicerie Corrigée SARL' AND _valid_from = ?", [days[1]!]);
    expect(customersAsOfDay2?.results).toHaveLength(1);

    // Sodiwin re-sends day 3's orders with day 5: the night finds it and re-checks day 3 first.
    await correctedExports(warehouse.inbox, 'day3');
    const night5 = await runNight(warehouse, days[4]!);
    expect(night5.status).toBe('ok');
    expect(night5.rechecked).toEqual([{ businessDate: days[2], rechecked: [{ table: 'orders', replayed: days.slice(2, 4).map((businessDate) => ({ businessDate, status: 'loaded' })) }], skipped: [] }]);

    expect(await allChecksums(warehouse.d1)).toEqual(await allChecksums(clean.warehouse.d1));
    const [rewound] = await warehouse.d1.query<{ table_name: string; business_date: string }>("SELECT table_name, business_date FROM etl_loads WHERE status = 'rewound' ORDER BY table_name, business_date");
    // The replaced loads stay recorded as rewound; the replayed later days (same files, same load ids) are verified again.
    expect(rewound?.results).toEqual([
      { table_name: 'customers', business_date: days[1] },
      { table_name: 'orders', business_date: days[2] },
    ]);
    await recordHistoriesOf(warehouse, 'recheck', { status: 'Completed', limit: 2 });
  }, 300_000);

  it('a re-check that fails holds back tonight\'s load of its table only; the other tables load', async () => {
    const warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: days[0]!, days: 3, scale: 0.3, seed: 17 });
    // D1 refuses the rewind for good (as with a revoked token): the re-check child fails.
    const worker = await startWorker(warehouse.config, (activities: Activities) => ({
      ...activities,
      rewindTable: () => Promise.reject(ApplicationFailure.nonRetryable('SQL rejected: the rewind was refused', 'D1SqlError')),
    }));
    try {
      for (const day of days.slice(0, 2)) expect((await runNight(warehouse, day)).status).toBe('ok');
      await correctedExports(warehouse.inbox, 'day2');
      const night = await runNight(warehouse, days[2]!);
      expect(night.status).toBe('partial');
      const customers = night.tables.find((t) => t.table === 'customers') as { status: string; errorType?: string; message?: string } | undefined;
      expect(customers).toMatchObject({ status: 'failed', errorType: 'RecheckFailed' });
      expect(customers?.message).toContain(`the re-check of ${days[1]} failed (D1SqlError: SQL rejected: the rewind was refused)`);
      expect(customers?.message).toContain(`warehouse recheck --date ${days[1]}`);
      expect(night.tables.filter((t) => t.table !== 'customers').every((t) => t.status === 'loaded')).toBe(true);
      const [marks] = await warehouse.d1.query<{ table_name: string; business_date: string }>('SELECT table_name, business_date FROM etl_watermarks WHERE business_date <> ?', [days[2]!]);
      expect(marks?.results).toEqual([{ table_name: 'customers', business_date: days[1] }]);
      const [failedLoad] = await warehouse.d1.query<{ status: string; error_type: string }>("SELECT status, error_type FROM etl_loads WHERE table_name = 'customers' AND business_date = ?", [days[2]!]);
      expect(failedLoad?.results).toEqual([{ status: 'failed', error_type: 'RecheckFailed' }]);
    } finally {
      await worker.stop();
      await warehouse.close();
    }
  }, 300_000);
});
