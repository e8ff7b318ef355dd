import { basename, join } from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { tableContracts } from '../../contracts/index.ts';
import { generateExports } from '../../generator/index.ts';
import { readTruth } from '../../generator/truth.ts';
import { currentState } from '../support/truth.ts';
import { allChecksums, runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';
import { saveHistories } from '../support/histories.ts';
import { runWarehouse } from '../support/cli.ts';
import { businessDateKey, etlStatusKey } from '../../common/search-attributes.ts';
import { inject } from 'vitest';

const from = '2026-03-02';
/** The customer column that names the price list, the order status column and its cancelled code (contracts/tables). */
const PRICE_LIST_COLUMN = 'price_list_code';
const ORDER_STATUS_COLUMN = 'status';
const CANCELLED_STATUS = 'ANNULEE';
const days = Array.from({ length: 7 }, (_, i) => new Date(Date.parse(`${from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10));

describe('seven nightly runs on a real Temporal dev server and the local D1 service', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from, days: days.length, scale: 1, seed: 7 });
    worker = await startWorker(warehouse.config);
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('loads each night, and after each every <table>_current matches that day\'s ground truth', async () => {
    for (const [i, day] of days.entries()) {
      const summary = await runNight(warehouse, day);
      expect(summary.tables.filter((t) => t.status === 'failed')).toEqual([]);
      expect(summary.status).toBe('ok');
      const truth = await readTruth(warehouse.inbox, day);
      for (const contract of tableContracts) {
        const expected = truth.tables[contract.table]!;
        const loaded = summary.tables.find((t) => t.table === contract.table);
        expect(loaded, `${contract.table} on ${day}`).toMatchObject({ status: 'loaded', rowsRead: expected.fileRows, rowsRejected: 0 });
        expect(await currentState(warehouse.d1, contract), `${contract.table}_current after ${day}`).toEqual(expected.current);
      }
      // What `warehouse status` shows of each load: the versions recorded in etl_loads are those the merge reported.
      const [recorded] = await warehouse.d1.query<{ table_name: string; versions_inserted: number; versions_closed: number; tombstones: number }>(
        "SELECT table_name, versions_inserted, versions_closed, tombstones FROM etl_loads WHERE business_date = ? AND status = 'verified' ORDER BY table_name",
        [day],
      );
      const reported = summary.tables.flatMap((t) => (t.status === 'loaded' ? [{ table_name: t.table, versions_inserted: t.versionsInserted, versions_closed: t.versionsClosed, tombstones: t.tombstones }] : []));
      expect(reported).toHaveLength(tableContracts.length);
      expect(recorded!.results, `etl_loads versions on ${day}`).toEqual(reported.sort((a, b) => a.table_name.localeCompare(b.table_name)));
      if (i === 0 && process.env.RECORD_HISTORIES) {
        await saveHistories(inject('temporal'), [`nightly-${day}`, `nightly-${day}-customers-${day}`], process.env.RECORD_HISTORIES);
      }
    }
  }, 300_000);

  it('answers as-of questions from history: price list change, cancellation, tombstone, discontinued product', async () => {
    const events = (await readTruth(warehouse.inbox, days.at(-1)!)).events;
    const dayBefore = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    const asOf = async <T>(table: string, column: string, key: string, value: string, date: string) => {
      const [result] = await warehouse.d1.query<T>(
        `SELECT "${column}" AS v, _is_deleted FROM "${table}" WHERE "${key}" = ? AND _valid_from <= ? AND (_valid_to IS NULL OR _valid_to > ?)`,
        [value, date, date],
      );
      return result?.results ?? [];
    };

    const priceChange = events.find((e) => e.type === 'price_list_changed')!;
    expect(priceChange).toBeDefined();
    expect(await asOf('customers', PRICE_LIST_COLUMN, 'customer_code', priceChange.customer_code, dayBefore(priceChange.date))).toEqual([{ v: priceChange.from, _is_deleted: 0 }]);
    expect(await asOf('customers', PRICE_LIST_COLUMN, 'customer_code', priceChange.customer_code, priceChange.date)).toEqual([{ v: priceChange.to, _is_deleted: 0 }]);

    const cancellation = events.find((e) => e.type === 'order_cancelled')!;
    expect(await asOf('orders', ORDER_STATUS_COLUMN, 'order_no', cancellation.order_no, dayBefore(cancellation.date))).toEqual([{ v: cancellation.previous_status, _is_deleted: 0 }]);
    expect(await asOf('orders', ORDER_STATUS_COLUMN, 'order_no', cancellation.order_no, cancellation.date)).toEqual([{ v: CANCELLED_STATUS, _is_deleted: 0 }]);

    const deletion = events.find((e) => e.type === 'customer_deleted')!;
    expect(await asOf('customers', 'customer_code', 'customer_code', deletion.customer_code, dayBefore(deletion.date))).toEqual([{ v: deletion.customer_code, _is_deleted: 0 }]);
    expect(await asOf('customers', 'customer_code', 'customer_code', deletion.customer_code, deletion.date)).toEqual([{ v: deletion.customer_code, _is_deleted: 1 }]);
    const [current] = await warehouse.d1.query('SELECT * FROM customers_current WHERE customer_code = ?', [deletion.customer_code]);
    expect(current?.results).toEqual([]);

    const discontinued = events.find((e) => e.type === 'product_discontinued')!;
    const [versions] = await warehouse.d1.query<{ n: number }>('SELECT count(*) AS n FROM products WHERE product_code = ?', [discontinued.product_code]);
    expect(versions?.results[0]?.n).toBeGreaterThanOrEqual(2);
  });

  it('running the same date twice changes nothing', async () => {
    const before = await allChecksums(warehouse.d1);
    const [loadsBefore] = await warehouse.d1.query<{ n: number }>('SELECT count(*) AS n FROM etl_loads');
    const summary = await runNight(warehouse, days.at(-1)!);
    expect(summary.tables.map((t) => t.status)).toEqual(tableContracts.map(() => 'unchanged'));
    expect(await allChecksums(warehouse.d1)).toEqual(before);
    const [loadsAfter] = await warehouse.d1.query<{ n: number }>('SELECT count(*) AS n FROM etl_loads');
    expect(loadsAfter?.results[0]?.n).toBe(loadsBefore?.results[0]?.n);
  });

  it('marks each night in the Web UI with the BusinessDate and EtlStatus search attributes', async () => {
    const description = await warehouse.client.workflow.getHandle(`nightly-${days[2]}`).describe();
    expect(description.typedSearchAttributes.get(businessDateKey)).toBe(days[2]);
    expect(description.typedSearchAttributes.get(etlStatusKey)).toBe('ok');
  });

  it('the CLI reports what was loaded: checksum, status, read-only query', async () => {
    const checksum = await runWarehouse(['checksum', '--json'], warehouse.env);
    expect(checksum.code, checksum.stderr).toBe(0);
    expect(JSON.parse(checksum.stdout)).toEqual(await allChecksums(warehouse.d1));

    const status = await runWarehouse(['status', '--json'], warehouse.env);
    expect(status.code, status.stderr).toBe(0);
    const rows = JSON.parse(status.stdout) as { table_name: string; watermark: string; status: string }[];
    expect(rows.map((r) => [r.table_name, r.watermark, r.status])).toEqual(tableContracts.map((c) => [c.table, days.at(-1), 'verified']));

    const truth = await readTruth(warehouse.inbox, days.at(-1)!);
    const query = await runWarehouse(['query', 'SELECT count(*) AS n FROM customers_current', '--json'], warehouse.env);
    expect(query.code, query.stderr).toBe(0);
    expect(JSON.parse(query.stdout)).toEqual([{ n: truth.tables.customers!.current.rows }]);

    const write = await runWarehouse(['query', 'DELETE FROM customers'], warehouse.env);
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(/query refused: only SELECT/);
    const badDate = await runWarehouse(['run', '--date', '2026-02-31'], warehouse.env);
    expect(badDate.code).toBe(1);
    expect(badDate.stderr).toMatch(/--date must be a real date as YYYY-MM-DD, got "2026-02-31"/);
  });

  it('replays the recorded history of a full nightly run and of a table load', async () => {
    const dir = join(inject('tmpDir'), `histories-${warehouse.config.temporal.taskQueue}`);
    const files = await saveHistories(inject('temporal'), [`nightly-${days[0]}`, `nightly-${days[0]}-orders-${days[0]}`], dir);
    const { Worker } = await import('@temporalio/worker');
    const { historyFromJSON } = await import('@temporalio/common/lib/proto-utils.js');
    const { readFile } = await import('node:fs/promises');
    const code = await readFile(inject('workflowBundlePath'), 'utf8');
    for (const file of files) {
      const history = historyFromJSON(JSON.parse(await readFile(file, 'utf8')));
      await expect(Worker.runReplayHistory({ workflowBundle: { code } }, history, basename(file, '.json'))).resolves.toBeUndefined();
    }
  });
});
