import { appendFile, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities } from '../../activities/index.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { incidentStateQuery, incidentWorkflowId } from '../../workflows/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { testConfig } from '../support/environment.ts';
import { eventually } from '../support/eventually.ts';
import { parseMessage } from '../support/mail.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const [day1, day2] = ['2028-03-01', '2028-03-02'];

/** One problem the test put on a line, as `warehouse rejects` must give it back. */
interface Expected {
  line: number;
  issue: number;
  column: string | null;
  value: string | null;
  rule: string;
  rawLine: string | null;
}

/** What a reader sees of a raw line: CR and LF as \x0D and \x0A (the test's own spelling of the escape). */
const escaped = (text: string) => text.replaceAll('\r', '\\x0D').replaceAll('\n', '\\x0A');

/** The physical lines a Windows-1252 CRLF file has (the final CRLF ends the last one). */
async function lineCount(path: string): Promise<number> {
  return iconv.decode(await readFile(path), 'win1252').split('\r\n').length - 1;
}

/**
 * Appends `count` bad customers to a CLIENTS file and returns every problem written, in file order:
 * a credit limit with a decimal point on each; every 10th also unknown payment terms (two problems);
 * every 7th a quoted name holding a line break and a semicolon (the record spans two lines);
 * every 13th cut short after two fields.
 */
async function appendBadCustomers(path: string, count: number): Promise<Expected[]> {
  let line = await lineCount(path);
  const records: string[] = [];
  const expected: Expected[] = [];
  for (let i = 0; i < count; i += 1) {
    const code = `ZZ${String(i).padStart(5, '0')}`;
    const limit = `1500.${String(i % 100).padStart(2, '0')}`;
    if (i % 13 === 0) {
      const record = `${code};Short ${i}`;
      line += 1;
      records.push(record);
      expected.push({ line, issue: 1, column: null, value: null, rule: 'expected 10 fields, found 2', rawLine: record });
      continue;
    }
    const name = i % 7 === 0 ? `"Bad ""${i}""\r\n;suite"` : `Bad ${i}`;
    const terms = i % 10 === 0 ? 'JAMAIS' : '30J';
    const record = `${code};${name};1 rue de la Paix;75002;PARIS;R01;T01;${terms};${limit};ACTIF`;
    line += i % 7 === 0 ? 2 : 1;
    records.push(record);
    const problems: Omit<Expected, 'line' | 'issue' | 'rawLine'>[] = [];
    if (i % 10 === 0) problems.push({ column: 'CONDITIONS_PAIEMENT', value: 'JAMAIS', rule: 'not one of COMPTANT, 30J, 45JFM, 60J' });
    problems.push({ column: 'PLAFOND_CREDIT', value: limit, rule: 'decimal comma expected, found a point' });
    problems.forEach((p, n) => expected.push({ line, issue: n + 1, ...p, rawLine: n === 0 ? escaped(record) : null }));
  }
  await appendFile(path, iconv.encode(`${records.join('\r\n')}\r\n`, 'win1252'));
  return expected;
}

/** Appends `count` orders with an impossible date, each one problem on one line. */
async function appendBadOrders(path: string, count: number): Promise<Expected[]> {
  const first = (await lineCount(path)) + 1;
  const records = Array.from({ length: count }, (_, i) => `ZZ${String(i).padStart(6, '0')};C0001;R01;D01;31/02/2028;SAISIE;10,00`);
  await appendFile(path, iconv.encode(`${records.join('\r\n')}\r\n`, 'win1252'));
  return records.map((record, i) => ({ line: first + i, issue: 1, column: 'DATE_COMMANDE', value: '31/02/2028', rule: 'no such calendar date', rawLine: record }));
}

/** The message each stored row carries, from the test's own facts. */
const messageOf = (e: Expected) => `line ${e.line}${e.column ? `, column ${e.column}` : ''}: ${e.rule}${e.value !== null ? ` (value "${e.value}")` : ''}`;

describe('every rejected row of a load, and `warehouse rejects`', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  let badCustomers: Expected[];
  let badOrders: Expected[];
  let duplicateBrands: (Expected & { message: string })[];

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: day1, days: 2, scale: 1, seed: 16 });
    badCustomers = await appendBadCustomers(join(warehouse.inbox, exportFileName(contractFor('customers'), day1)), 5000);
    badOrders = await appendBadOrders(join(warehouse.inbox, exportFileName(contractFor('orders'), day2)), 300);
    // Three brands written twice: the second line of each is a duplicate key.
    const brands = join(warehouse.inbox, exportFileName(contractFor('brands'), day2));
    const brandLines = iconv.decode(await readFile(brands), 'win1252').split('\r\n').slice(1, 4);
    const firstDuplicate = (await lineCount(brands)) + 1;
    await appendFile(brands, iconv.encode(`${brandLines.map((l) => `${l.split(';')[0]};Doublon`).join('\r\n')}\r\n`, 'win1252'));
    duplicateBrands = brandLines.map((l, i) => {
      const code = l.split(';')[0]!;
      return { line: firstDuplicate + i, issue: 1, column: 'CODE_MARQUE', value: code, rule: 'key must be unique in the file', rawLine: null, message: `line ${firstDuplicate + i}, column CODE_MARQUE: key ${code} is already on line ${i + 2}` };
    });
    // A file refused as a whole: its header names a column the contract does not have.
    const products = join(warehouse.inbox, exportFileName(contractFor('products'), day2));
    await writeFile(products, iconv.encode(iconv.decode(await readFile(products), 'win1252').replace(/^[A-Z_]+;/, 'REFERENCE;'), 'win1252'));
  }, 120_000);
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('keeps all 5,000 bad lines of a file, each problem with its column, value, rule and the raw line, and lists them for Sodiwin', async () => {
    worker = await startWorker(warehouse.config);
    const summary = await runNight(warehouse, day1);
    expect(summary.tables.find((t) => t.table === 'customers')).toMatchObject({ status: 'failed', errorType: 'RowValidationFailed' });

    const [load] = await warehouse.d1.query<{ load_id: string; rows_rejected: number; rejected_rows_cap: number }>(
      "SELECT load_id, rows_rejected, rejected_rows_cap FROM etl_loads WHERE table_name = 'customers' AND business_date = ?", [day1]);
    expect(load?.results).toEqual([{ load_id: expect.any(String), rows_rejected: 5000, rejected_rows_cap: 100_000 }]);
    const [stored] = await warehouse.d1.query('SELECT line, issue, column_name AS "column", value, rule, raw_line AS rawLine FROM etl_rejected_rows WHERE load_id = ? ORDER BY line, issue', [load!.results[0]!.load_id]);
    expect(stored?.results).toEqual(badCustomers);

    const incident = incidentWorkflowId('customers', day1);
    const csv = await runWarehouse(['rejects', incident, '--csv'], warehouse.env);
    expect(csv.code).toBe(0);
    const [header, ...records] = parse(csv.stdout) as string[][];
    expect(header).toEqual(['line', 'issue', 'column', 'value', 'rule', 'message', 'raw_line']);
    expect(records).toEqual(badCustomers.map((e) => [String(e.line), String(e.issue), e.column ?? '', e.value ?? '', e.rule, messageOf(e), e.rawLine ?? '']));
    expect(csv.stderr.trim()).toBe(`${incident}: customers ${day1}, RowValidationFailed: 5000 rejected lines in ${exportFileName(contractFor('customers'), day1)}`);

    const table = await runWarehouse(['rejects', incident], warehouse.env);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toBe(`${incident}: customers ${day1}, RowValidationFailed: 5000 rejected lines in ${exportFileName(contractFor('customers'), day1)}`);
    expect(lines[2]).toMatch(/^line +column +value +rule +message$/);
    const firstCredit = badCustomers.find((e) => e.column === 'PLAFOND_CREDIT')!;
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ *${firstCredit.line}  PLAFOND_CREDIT +${firstCredit.value!.replace('.', '\\.')} +decimal comma expected, found a point +line ${firstCredit.line}, column PLAFOND_CREDIT`)));
    expect(table.stdout).not.toContain('beyond the cap');

    const json = JSON.parse((await runWarehouse(['rejects', incident, '--json'], warehouse.env)).stdout);
    expect(json).toMatchObject({ incidentId: incident, table: 'customers', businessDate: day1, rowsRejected: 5000, cap: 100_000, linesStored: 5000, beyondCap: 0 });
    expect(json.rows).toHaveLength(badCustomers.length);
    expect(json.rows[0]).toEqual({ ...badCustomers[0], message: messageOf(badCustomers[0]!) });

    // The alert points Paul to the command.
    const mailDir = join(warehouse.dir, 'var', 'mail');
    const eml = await eventually(async () => (await readdir(mailDir).catch(() => [] as string[])).find((f) => f.includes(incident)), (f) => f !== undefined);
    const mail = parseMessage(await readFile(join(mailDir, eml!), 'latin1'));
    expect(mail.text).toContain(`warehouse rejects ${incident} --csv > ${incident}-rejects.csv`);
  }, 300_000);

  it('beyond a small cap keeps the first lines, counts the rest exactly and says so; a retried validation stores each line once', async () => {
    await worker?.stop();
    // A worker whose first validation of orders stores its rejected rows, then loses its answer: Temporal retries it.
    let failedOnce = false;
    worker = await startWorker(testConfig({ ...warehouse.env, WAREHOUSE_REJECTED_ROWS_CAP: '100' }), (activities: Activities) => ({
      ...activities,
      validateExport: async (input) => {
        if (input.table === 'orders' && !failedOnce) {
          failedOnce = true;
          await activities.validateExport(input).catch(() => undefined);
          throw new Error('injected: the answer of the first validation was lost');
        }
        return activities.validateExport(input);
      },
    }));
    const summary = await runNight(warehouse, day2);
    expect(failedOnce).toBe(true);
    expect(summary.tables.find((t) => t.table === 'orders')).toMatchObject({ status: 'failed', errorType: 'RowValidationFailed' });

    const [load] = await warehouse.d1.query<{ load_id: string; rows_rejected: number; rejected_rows_cap: number }>(
      "SELECT load_id, rows_rejected, rejected_rows_cap FROM etl_loads WHERE table_name = 'orders' AND business_date = ?", [day2]);
    expect(load?.results).toEqual([{ load_id: expect.any(String), rows_rejected: 300, rejected_rows_cap: 100 }]);
    const [stored] = await warehouse.d1.query('SELECT line, issue, column_name AS "column", value, rule, raw_line AS rawLine FROM etl_rejected_rows WHERE load_id = ? ORDER BY line, issue', [load!.results[0]!.load_id]);
    expect(stored?.results).toEqual(badOrders.slice(0, 100));

    const incident = incidentWorkflowId('orders', day2);
    const table = await runWarehouse(['rejects', incident], warehouse.env);
    expect(table.code).toBe(0);
    expect(table.stdout.trimEnd().split('\n').at(-1)).toBe('200 more rejected rows beyond the cap of 100 (WAREHOUSE_REJECTED_ROWS_CAP)');
    const csv = await runWarehouse(['rejects', incident, '--csv'], warehouse.env);
    const [, ...records] = parse(csv.stdout) as string[][];
    expect(records.map((r) => Number(r[0]))).toEqual(badOrders.slice(0, 100).map((e) => e.line));
    expect(csv.stderr.trim()).toBe('200 more rejected rows beyond the cap of 100 (WAREHOUSE_REJECTED_ROWS_CAP)');
    const json = JSON.parse((await runWarehouse(['rejects', incident, '--json'], warehouse.env)).stdout);
    expect(json).toMatchObject({ rowsRejected: 300, cap: 100, linesStored: 100, beyondCap: 200 });
  }, 300_000);

  it('keeps the duplicate-key lines that staging finds, each naming the line that had the key first', async () => {
    const [load] = await warehouse.d1.query<{ load_id: string; rows_rejected: number; error_type: string }>(
      "SELECT load_id, rows_rejected, error_type FROM etl_loads WHERE table_name = 'brands' AND business_date = ?", [day2]);
    expect(load?.results).toEqual([{ load_id: expect.any(String), rows_rejected: 3, error_type: 'DuplicateKey' }]);
    const [stored] = await warehouse.d1.query('SELECT line, issue, column_name AS "column", value, rule, raw_line AS rawLine, message FROM etl_rejected_rows WHERE load_id = ? ORDER BY line, issue', [load!.results[0]!.load_id]);
    expect(stored?.results).toEqual(duplicateBrands);
    const csv = await runWarehouse(['rejects', incidentWorkflowId('brands', day2), '--csv'], warehouse.env);
    const [, ...records] = parse(csv.stdout) as string[][];
    expect(records).toEqual(duplicateBrands.map((e) => [String(e.line), '1', 'CODE_MARQUE', e.value, e.rule, e.message, '']));
  });

  it('an unknown incident is one readable line and exit 1; an incident without rejected rows says why', async () => {
    const unknown = await runWarehouse(['rejects', 'incident-customers-2028-03-27'], warehouse.env);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringMatching(/no incident "incident-customers-2028-03-27" in the warehouse: give the id as the alert prints it/)]);

    const products = incidentWorkflowId('products', day2);
    const whole = await runWarehouse(['rejects', products], warehouse.env);
    expect(whole.code).toBe(0);
    expect(whole.stdout.trim()).toBe(`${products}: products ${day2}, CsvHeaderMismatch: no rejected rows recorded for ${exportFileName(contractFor('products'), day2)}: the file was refused as a whole, before its lines were counted (or validated before the warehouse kept rejected rows); reason.json in the quarantine has the detail`);
    expect((await runWarehouse(['rejects', products, '--csv'], warehouse.env)).stdout).toBe('line,issue,column,value,rule,message,raw_line\r\n');

    // The second night's customers were held back by the first night's incident.
    const handle = warehouse.client.workflow.getHandle(incidentWorkflowId('customers', day1));
    expect((await handle.query(incidentStateQuery)).deferred.map((d) => d.businessDate)).toEqual([day2]);
  });
});
