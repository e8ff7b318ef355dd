import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableDiff } from '../../client/diff.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName, type TableContract } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const days = ['2028-01-10', '2028-01-11', '2028-01-12'];

/** A full snapshot export as the file says it: key → field text per warehouse column (read independently of the loader). */
async function snapshot(dir: string, contract: TableContract, day: string): Promise<Map<string, Record<string, string>>> {
  const text = iconv.decode(await readFile(join(dir, exportFileName(contract, day))), 'windows-1252');
  const [header, ...records] = parse(text, { delimiter: ';', relax_quotes: true }) as string[][];
  const names = header!.map((source) => contract.columns.find((c) => c.source === source)!.name);
  const rows = new Map<string, Record<string, string>>();
  for (const record of records) {
    const row = Object.fromEntries(names.map((n, i) => [n, record[i]!.trim()]));
    rows.set(contract.key.map((k) => row[k]).join(' | '), row);
  }
  return rows;
}

describe('warehouse diff: what changed in a table between two business dates', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: days[0]!, days: days.length, scale: 1, seed: 41 });
    worker = await startWorker(warehouse.config);
    for (const day of days) expect((await runNight(warehouse, day)).status).toBe('ok');
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it("lists per customer what the two days' files differ by: added, tombstoned, and the changed columns with both values", async () => {
    const contract = contractFor('customers');
    const [before, after] = [await snapshot(warehouse.inbox, contract, days[0]!), await snapshot(warehouse.inbox, contract, days[2]!)];
    const result = await runWarehouse(['diff', '--table', 'customers', '--from', days[0]!, '--to', days[2]!, '--json'], warehouse.env);
    expect(result.code, result.stderr).toBe(0);
    const diff = JSON.parse(result.stdout) as TableDiff;

    const byKind = (kind: string) => diff.keys.filter((k) => k.kind === kind).map((k) => k.key.join(' | ')).sort();
    expect(byKind('added')).toEqual([...after.keys()].filter((k) => !before.has(k)).sort());
    expect(byKind('tombstoned')).toEqual([...before.keys()].filter((k) => !after.has(k)).sort());
    const changedInFiles = [...after.keys()].filter((k) => before.has(k) && JSON.stringify(before.get(k)) !== JSON.stringify(after.get(k)));
    expect(byKind('changed')).toEqual(changedInFiles.sort());
    expect(changedInFiles.length).toBeGreaterThan(0);

    // Each changed key names exactly the columns whose field differs between the two files.
    for (const k of diff.keys.filter((d) => d.kind === 'changed')) {
      const [was, is] = [before.get(k.key.join(' | '))!, after.get(k.key.join(' | '))!];
      expect(k.columns.map((c) => c.column)).toEqual(contract.columns.map((c) => c.name).filter((n) => was[n] !== is[n]));
      expect(k.on > days[0]! && k.on <= days[2]!).toBe(true);
    }
    expect(diff.counts).toEqual({ added: byKind('added').length, changed: changedInFiles.length, tombstoned: byKind('tombstoned').length });
  });

  it('narrows to one key and reads as text; refuses a bad date or key in one line', async () => {
    const contract = contractFor('customers');
    const all = JSON.parse((await runWarehouse(['diff', '--table', 'customers', '--from', days[0]!, '--to', days[2]!, '--json'], warehouse.env)).stdout) as TableDiff;
    const changed = all.keys.find((k) => k.kind === 'changed')!;
    const one = await runWarehouse(['diff', '--table', 'customers', '--from', days[0]!, '--to', days[2]!, '--key', changed.key[0]!], warehouse.env);
    expect(one.code, one.stderr).toBe(0);
    const lines = one.stdout.trim().split('\n');
    expect(lines[0]).toBe(`customers from ${days[0]} to ${days[2]}: 0 added, 1 changed, 0 tombstoned`);
    const column = changed.columns[0]!;
    expect(lines[1]).toContain(`changed    ${changed.key[0]}  on ${changed.on}  ${column.column}: `);
    expect(lines).toHaveLength(2);
    expect(contract.key).toEqual(['customer_code']);

    const same = await runWarehouse(['diff', '--table', 'customers', '--from', days[1]!, '--to', days[1]!], warehouse.env);
    expect(same.stdout.trim()).toBe(`customers from ${days[1]} to ${days[1]}: 0 added, 0 changed, 0 tombstoned`);

    const backwards = await runWarehouse(['diff', '--table', 'customers', '--from', days[2]!, '--to', days[0]!], warehouse.env);
    expect(backwards.code).toBe(1);
    expect(backwards.stderr).toContain(`--to (${days[0]}) is before --from (${days[2]})`);
    const stock = await runWarehouse(['diff', '--table', 'stock', '--from', days[0]!, '--to', days[2]!, '--key', 'D01'], warehouse.env);
    expect(stock.code).toBe(1);
    expect(stock.stderr).toContain("stock's key is depot_code, product_code: give --key as 2 values separated by commas");
    expect(stock.stderr).not.toMatch(/\n\s+at /);
  });
});
