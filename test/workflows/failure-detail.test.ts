import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { nightlyRun, type NightlySummary } from '../../workflows/index.ts';
import { startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

/**
 * When stage, publish or verify fails, reason.json in the quarantine says everything about
 * it, uncapped: the step, the load id, the file, and the failure's whole detail (each measure
 * of a reconciliation, expected and found; what D1 answered to a refused batch).
 */
const [day1, day2] = ['2027-06-07', '2027-06-08'];
const tables = ['brands', 'products', 'customers'];

async function runNight(warehouse: IsolatedWarehouse, businessDate: string): Promise<NightlySummary> {
  const handle = await warehouse.client.workflow.start(nightlyRun, { workflowId: `nightly-${businessDate}`, taskQueue: warehouse.config.temporal.taskQueue, args: [{ businessDate, tables }] });
  return handle.result();
}

describe('reason.json holds the full detail of a failed stage, publish or verify', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let night: NightlySummary;
  /** What the customers load of day 2 had inserted when verify ran. */
  const published: { loadId?: string; inserted?: number } = {};
  const reason = (table: string) => readFile(join(warehouse.dir, 'nas', 'quarantine', day2, table, 'reason.json'), 'utf8').then((text) => JSON.parse(text));

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: day1, days: 2, scale: 1, seed: 33 });
    // verify: on day 2 one version (not a tombstone) the customers load just published disappears before the real verify runs.
    worker = await startWorker(warehouse.config, (activities: Activities) => ({
      ...activities,
      async verifyLoad(input) {
        if (input.table === 'customers' && input.businessDate === day2) {
          const [n] = await warehouse.d1.query<{ n: number }>('SELECT count(*) AS n FROM customers WHERE _loaded_by = ?', [input.loadId]);
          Object.assign(published, { loadId: input.loadId, inserted: n!.results[0]!.n });
          await warehouse.d1.query('DELETE FROM customers WHERE rowid = (SELECT min(rowid) FROM customers WHERE _loaded_by = ? AND _is_deleted = 0)', [input.loadId]);
        }
        return activities.verifyLoad(input);
      },
    }));
    expect((await runNight(warehouse, day1)).status).toBe('ok');
    // publish: D1 itself refuses the products batch (a trigger aborts it), as it refuses SQL it cannot apply.
    await warehouse.d1.query(
      `CREATE TRIGGER refuse_products_publish BEFORE UPDATE OF status ON etl_loads WHEN NEW.status = 'published' AND NEW.table_name = 'products'
       BEGIN SELECT RAISE(ABORT, 'products may not be published tonight'); END`,
    );
    night = await runNight(warehouse, day2);
    await warehouse.d1.query('DROP TRIGGER refuse_products_publish');
  }, 240_000);
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('a verify mismatch: step, load id, file and every measure, expected and found', async () => {
    const customers = night.tables.find((t) => t.table === 'customers');
    expect(customers).toMatchObject({ status: 'failed', errorType: 'CountMismatch' });
    expect(published.inserted).toBeGreaterThan(0);
    const inserted = published.inserted!;
    const kept = await reason('customers');
    expect(kept).toMatchObject({
      table: 'customers',
      businessDate: day2,
      file: exportFileName(contractFor('customers'), day2),
      loadId: published.loadId,
      step: 'verify',
      activity: 'verifyLoad',
      errorType: 'CountMismatch',
    });
    const measures = kept.details.reconciliation as { measure: string; expected: number; actual: number; ok: boolean }[];
    // Day 1 loaded customers whole; day 2 is staged as its changes against it (a keyed diff), and
    // the rows it did not send are proven by the digest of the current rows.
    expect(measures.map((m) => m.measure)).toEqual([
      'file rows = valid + rejected',
      expect.stringMatching(new RegExp(`^staged rows \\+ rows unchanged since load ${day1}_customers_[0-9a-f]+ = valid rows$`)),
      'staged rows that are the current version of their key',
      'current rows of a full snapshot = valid rows',
      'versions inserted by the load',
      'versions closed by the load',
      'tombstones written by the load',
      'keys absent from the file = tombstones written',
      "current rows are the file's rows (digest of their row hashes)",
      ...contractFor('customers').controlTotals.map((c) => `control total of ${c}`),
    ]);
    // One current version missing: every count it touches is one short, a control total by its amount; the others agree; the message names the first.
    const failing = measures.filter((m) => !m.ok);
    const isTotal = (m: { measure: string }) => m.measure.startsWith('control total of ');
    expect(failing).toContainEqual({ measure: 'versions inserted by the load', expected: inserted, actual: inserted - 1, ok: false });
    expect(failing).toContainEqual(expect.objectContaining({ measure: 'staged rows that are the current version of their key' }));
    const isDigest = (m: { measure: string }) => m.measure.includes('digest');
    expect(failing).toContainEqual(expect.objectContaining({ measure: "current rows are the file's rows (digest of their row hashes)" }));
    for (const m of failing) {
      if (isTotal(m)) expect(Number(m.actual), m.measure).toBeLessThan(Number(m.expected));
      else if (isDigest(m)) expect(String(m.actual), m.measure).toMatch(new RegExp(`^${Number(String(m.expected).split(' ')[0]) - 1} rows, `));
      else expect(Number(m.actual), m.measure).toBe(Number(m.expected) - 1);
    }
    for (const m of measures.filter((x) => x.ok)) expect(m.actual, m.measure).toEqual(m.expected);
    expect(kept.message).toBe(`customers ${day2} [${exportFileName(contractFor('customers'), day2)}]: ${failing[0]!.measure}: expected ${failing[0]!.expected}, found ${failing[0]!.actual} (load ${published.loadId})`);
    // The history carries the same failure (it is small): the nightly's summary names the first measure too.
    expect(customers?.status === 'failed' && customers.message).toContain(`${failing[0]!.measure}: expected ${failing[0]!.expected}, found ${failing[0]!.actual}`);
  });

  it('a D1 error in publish: step, load id, file, and what D1 answered', async () => {
    const products = night.tables.find((t) => t.table === 'products');
    expect(products).toMatchObject({ status: 'failed', errorType: 'D1SqlError' });
    const [load] = await warehouse.d1.query<{ load_id: string; status: string }>('SELECT load_id, status FROM etl_loads WHERE table_name = ? AND business_date = ?', ['products', day2]);
    const loadId = load!.results[0]!.load_id;
    expect(load!.results[0]!.status).toBe('quarantined');
    const kept = await reason('products');
    expect(kept).toMatchObject({ table: 'products', businessDate: day2, file: exportFileName(contractFor('products'), day2), loadId, step: 'publish', activity: 'publishLoad', errorType: 'D1SqlError' });
    expect(kept.message).toMatch(/^D1 batch \/accounts\/\S+\/query: SQL rejected (\(statement #\d+\) )?\(HTTP 400, code 7500\): .*products may not be published tonight/);
    expect(kept.d1).toMatchObject({ operation: 'batch', status: 400, code: 7500, attempts: expect.any(Number), d1Message: expect.stringContaining('products may not be published tonight') });
    expect(JSON.stringify(kept)).not.toContain(warehouse.env.CLOUDFLARE_API_TOKEN!);
  });

  it('loads the table that did not fail', () => {
    expect(night.tables.find((t) => t.table === 'brands')?.status).toMatch(/^(loaded|unchanged)$/);
  });
});
