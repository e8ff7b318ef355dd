import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { tableChecksum } from '../../client/checksum.ts';
import { generateExports } from '../../generator/index.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const [day1, day2] = ['2026-06-01', '2026-06-02'];

/** Rewrites one field of one data line of a Windows-1252 export, as a corrupt export would have it. */
async function corruptField(path: string, line: number, column: number, value: string): Promise<string> {
  const lines = iconv.decode(await readFile(path), 'win1252').split('\r\n');
  const fields = lines[line - 1]!.split(';');
  const original = fields[column]!;
  fields[column] = value;
  lines[line - 1] = fields.join(';');
  await writeFile(path, iconv.encode(lines.join('\r\n'), 'win1252'));
  return original;
}

describe('a bad file is quarantined and the previous day stays authoritative', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: day1, days: 2, scale: 1, seed: 5 });
    worker = await startWorker(warehouse.config);
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('quarantines a file with an invalid row and a missing file; the other tables load', async () => {
    expect((await runNight(warehouse, day1)).status).toBe('ok');
    const customers = contractFor('customers');
    const stock = contractFor('stock');
    const before = { customers: await tableChecksum(warehouse.d1, customers), stock: await tableChecksum(warehouse.d1, stock) };

    const customersFile = exportFileName(customers, day2);
    // The credit limit (9th column) of the 4th customer written with a decimal point.
    await corruptField(join(warehouse.inbox, customersFile), 5, 8, '1500.00');
    await rm(join(warehouse.inbox, exportFileName(stock, day2)));

    const summary = await runNight(warehouse, day2);
    expect(summary.status).toBe('partial');
    const failed = Object.fromEntries(summary.tables.filter((t) => t.status === 'failed').map((t) => [t.table, t]));
    expect(Object.keys(failed).sort()).toEqual(['customers', 'stock']);
    expect(failed.customers).toMatchObject({
      errorType: 'RowValidationFailed',
      message: expect.stringContaining(`customers ${day2} [${customersFile}, line 5, column PLAFOND_CREDIT]: 1 of`),
    });
    expect(failed.customers?.errorType === 'RowValidationFailed' && failed.customers.message).toMatch(/decimal comma expected, found a point \(value "1500\.00"\)/);
    expect(failed.stock).toMatchObject({ errorType: 'ExportMissing' });
    expect(summary.tables.filter((t) => t.status !== 'failed').every((t) => t.status === 'loaded')).toBe(true);

    expect(await tableChecksum(warehouse.d1, customers)).toEqual(before.customers);
    expect(await tableChecksum(warehouse.d1, stock)).toEqual(before.stock);

    const quarantine = join(warehouse.dir, 'nas', 'quarantine', day2);
    expect((await readdir(join(quarantine, 'customers'))).sort()).toEqual([customersFile, 'reason.json'].sort());
    const reason = JSON.parse(await readFile(join(quarantine, 'customers', 'reason.json'), 'utf8'));
    expect(reason).toMatchObject({ table: 'customers', businessDate: day2, file: customersFile, errorType: 'RowValidationFailed', workflowId: `nightly-${day2}-customers` });
    expect(reason.details.issues[0]).toEqual({ line: 5, column: 'PLAFOND_CREDIT', value: '1500.00', rule: 'decimal comma expected, found a point' });
    const stockReason = JSON.parse(await readFile(join(quarantine, 'stock', 'reason.json'), 'utf8'));
    expect(stockReason).toMatchObject({ table: 'stock', file: null, errorType: 'ExportMissing' });

    const [loads] = await warehouse.d1.query<{ status: string; error_type: string }>('SELECT status, error_type FROM etl_loads WHERE table_name = ? AND business_date = ?', ['customers', day2]);
    expect(loads?.results).toEqual([{ status: 'quarantined', error_type: 'RowValidationFailed' }]);
    const [watermark] = await warehouse.d1.query<{ business_date: string }>('SELECT business_date FROM etl_watermarks WHERE table_name = ?', ['customers']);
    expect(watermark?.results[0]?.business_date).toBe(day1);
  });
});
