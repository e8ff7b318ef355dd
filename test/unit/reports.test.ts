import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseReportRequest, reportListing } from '../../client/commands/report.ts';
import { contractFor, tableContracts } from '../../contracts/index.ts';
import { decimalFromNumber } from '../../common/decimal.ts';
import { addDays } from '../../common/business-dates.ts';
import { controlSchemaDdl } from '../../history/control-schema.ts';
import { historyDdl } from '../../history/ddl.ts';
import { unitsColumn } from '../../history/stored-columns.ts';
import { AGING_BUCKETS, readerViewsDdl, reportColumns, reportDefinitions, reportFor, type ReportOptions } from '../../history/reports.ts';

/**
 * The report builders on a real SQLite (node:sqlite, the engine D1 runs) with hand-made
 * history: the edges the generated data rarely reaches (bucket boundaries, an even number
 * of gaps, the ten-date window, a positive credit note, a deleted customer's rep).
 */

const full = { asOf: '2026-05-10', from: '2026-01-01', to: '2026-12-31', customer: 'C1' };

function database(): DatabaseSync {
  const db = new DatabaseSync(':memory:');
  for (const sql of controlSchemaDdl()) db.exec(sql);
  for (const contract of tableContracts) for (const sql of historyDdl(contract)) db.exec(sql);
  return db;
}

/**
 * Inserts one version of a row: valid from `from` to `to` (open when absent). Amounts are given
 * as decimals and stored as the loader stores them: whole units at the column's scale in `<name>_units`.
 */
function put(db: DatabaseSync, table: string, row: Record<string, SQLInputValue>, from: string, to: string | null = null, deleted = false): void {
  const contract = contractFor(table);
  const stored = Object.entries(row).map(([name, value]): [string, SQLInputValue] => {
    const column = contract.columns.find((c) => c.name === name);
    if (column?.type.kind !== 'decimal' || value === null) return [name, value];
    const units = decimalFromNumber(Number(value), column.type.scale);
    if (!units.ok) throw new Error(`${table}.${name}: ${units.rule}`);
    return [unitsColumn(name), Number(units.value.units)];
  });
  const names = [...stored.map(([name]) => name), '_valid_from', '_valid_to', '_is_current', '_is_deleted', '_row_hash', '_loaded_by'];
  const values = [...stored.map(([, value]) => value), from, to, to === null ? 1 : 0, deleted ? 1 : 0, 'h', `load_${from}`];
  db.prepare(`INSERT INTO "${table}" (${names.map((n) => `"${n}"`).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...values);
}

function run(db: DatabaseSync, name: string, options: ReportOptions = {}): Record<string, unknown>[] {
  const { sql, params } = reportFor(name)!.build(options);
  return db.prepare(sql).all(...(params as SQLInputValue[])) as Record<string, unknown>[];
}

function watermark(db: DatabaseSync, table: string, date: string): void {
  db.prepare("INSERT OR REPLACE INTO etl_watermarks (table_name, business_date, load_id, updated_at) VALUES (?, ?, 'l', 'now')").run(table, date);
}

describe('report builders: SQL and parameters', () => {
  it('bind each option once, as numbered parameters, far below D1\'s 100', () => {
    for (const report of reportDefinitions) {
      const options: ReportOptions = {
        asOf: full.asOf,
        ...(report.period ? { from: full.from, to: full.to } : {}),
        ...(report.customer !== 'none' ? { customer: full.customer } : {}),
      };
      const { sql, params } = report.build(options);
      expect(params, report.name).toEqual([...new Set(params)]);
      expect(params.length).toBeLessThanOrEqual(4);
      const refs = new Set([...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1])));
      expect([...refs].sort(), report.name).toEqual(params.map((_, i) => i + 1));
      expect(sql).not.toMatch(/\?(?!\d)/);
      expect(sql, report.name).toContain('_valid_from <= ?1');
    }
  });

  it('read the <t>_current views for the current state, with no parameters', () => {
    for (const report of reportDefinitions) {
      const { sql, params } = report.build({});
      expect(params, report.name).toEqual([]);
      expect(sql, report.name).not.toContain('_valid_to >');
    }
    expect(reportFor('stock-by-depot')!.build({}).sql).toContain('"stock_current"');
  });

  it('return the columns they declare, in order', () => {
    const db = database();
    for (const report of reportDefinitions) {
      for (const options of [{}, report.byMonth ? { byMonth: true } : {}] as ReportOptions[]) {
        const { sql } = report.build(options);
        const columns = db.prepare(sql).columns().map((c) => c.name);
        expect(columns, report.name).toEqual(reportColumns(report, options).map((c) => c.name));
      }
    }
  });

  it('create one v_* view per report, on an empty database too (before any load)', () => {
    const ddl = readerViewsDdl();
    expect(ddl).toHaveLength(reportDefinitions.length);
    const db = new DatabaseSync(':memory:');
    for (const sql of ddl) db.exec(sql);
    for (const sql of ddl) db.exec(sql); // idempotent
    const views = db.prepare("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name").all().map((r) => r.name);
    expect(views).toEqual(reportDefinitions.map((r) => r.view).sort());
    expect(controlSchemaDdl()).toEqual(expect.arrayContaining(ddl));
  });
});

describe('report builders on a hand-made history', () => {
  let db: DatabaseSync;
  beforeEach(() => {
    db = database();
  });

  it('revenue: a credit note reduces revenue once whatever its sign; the rep is the order\'s, else the account\'s (a deleted account keeps its last rep)', () => {
    put(db, 'customers', { customer_code: 'C1', name: 'Un', price_list_code: 'T', payment_terms: '30J', credit_limit: 0, status: 'ACTIF', rep_code: 'R1' }, '2026-05-01');
    put(db, 'customers', { customer_code: 'C2', name: 'Deux', price_list_code: 'T', payment_terms: '30J', credit_limit: 0, status: 'ACTIF', rep_code: 'R2' }, '2026-05-01', '2026-05-05');
    put(db, 'customers', { customer_code: 'C2', name: 'Deux', price_list_code: 'T', payment_terms: '30J', credit_limit: 0, status: 'ACTIF', rep_code: 'R2' }, '2026-05-05', null, true);
    put(db, 'orders', { order_no: 'O1', customer_code: 'C1', rep_code: 'R9', depot_code: 'D', order_date: '2026-05-01', status: 'FACTUREE', total_excl_tax: 100 }, '2026-05-01');
    put(db, 'products', { product_code: 'P1', label: 'p', brand_code: 'B1', family: 'f', unit: 'U', vat_rate: 20, status: 'ACTIF' }, '2026-05-01');
    put(db, 'brands', { brand_code: 'B1', name: 'Marque' }, '2026-05-01');
    const invoice = (no: string, type: string, customer: string, order: string | null, date: string, amount: number, from: string) => {
      put(db, 'invoices', { invoice_no: no, doc_type: type, customer_code: customer, order_no: order, invoice_date: date, due_date: date, total_excl_tax: amount, vat_amount: 0, total_incl_tax: amount }, from);
      put(db, 'invoice_lines', { invoice_no: no, line_no: 1, product_code: 'P1', quantity: 1, amount }, from);
    };
    invoice('FA1', 'FACTURE', 'C1', 'O1', '2026-05-01', 100, '2026-05-01');
    invoice('AV1', 'AVOIR', 'C1', 'O1', '2026-05-02', -10, '2026-05-02');
    invoice('AV2', 'AVOIR', 'C1', null, '2026-05-03', 5, '2026-05-03'); // a credit note carried positive still reduces
    invoice('FA2', 'FACTURE', 'C2', null, '2026-04-20', 40, '2026-05-01');

    const byCustomer = run(db, 'revenue-by-customer');
    expect(byCustomer).toEqual([
      { customer_code: 'C1', customer_name: 'Un', invoices: 1, credit_notes: 2, invoiced: 100, credited: -15, net_revenue: 85 },
      { customer_code: 'C2', customer_name: 'Deux', invoices: 1, credit_notes: 0, invoiced: 40, credited: 0, net_revenue: 40 },
    ]);
    // O1's rep (R9) though the account says R1; AV2 has no order: the account's R1; C2 is deleted: its last rep, R2.
    expect(run(db, 'revenue-by-rep').map((r) => [r.rep_code, r.net_revenue])).toEqual([
      ['R9', 90],
      ['R2', 40],
      ['R1', -5],
    ]);
    expect(run(db, 'revenue-by-brand')).toEqual([{ brand_code: 'B1', brand_name: 'Marque', invoices: 2, credit_notes: 2, invoiced: 140, credited: -15, net_revenue: 125 }]);
    expect(run(db, 'revenue-by-customer', { asOf: '2026-05-01' }).map((r) => r.net_revenue)).toEqual([100, 40]);
    expect(run(db, 'revenue-by-customer', { from: '2026-05-02', to: '2026-05-03' }).map((r) => [r.customer_code, r.net_revenue])).toEqual([['C1', -15]]);
    expect(run(db, 'revenue-by-customer', { byMonth: true }).map((r) => [r.month, r.customer_code, r.net_revenue])).toEqual([
      ['2026-04', 'C2', 40],
      ['2026-05', 'C1', 85],
    ]);
    expect(run(db, 'revenue-by-customer', { asOf: '2026-04-30' })).toEqual([]);
  });

  it('receivables aging: not due after the as-of date; 0-30 from the due date itself; 31, 61 and 91 days open the next buckets', () => {
    const asOf = '2026-05-31';
    const ages = [-5, -1, 0, 30, 31, 60, 61, 90, 91, 400];
    for (const [i, age] of ages.entries()) {
      put(db, 'receivables', { invoice_no: `FA${i}`, due_seq: 1, customer_code: i < 5 ? 'C1' : 'C2', due_date: addDays(asOf, -age), amount_due: 10, amount_open: i + 1 }, '2026-05-01');
    }
    put(db, 'receivables', { invoice_no: 'FAX', due_seq: 1, customer_code: 'C1', due_date: '2026-01-01', amount_due: 10, amount_open: 0 }, '2026-05-01');
    put(db, 'receivables', { invoice_no: 'FAY', due_seq: 1, customer_code: 'C1', due_date: '2026-01-01', amount_due: 10, amount_open: 7 }, '2026-05-01', '2026-05-20');
    const aging = run(db, 'receivables-aging', { asOf });
    expect(aging.map((r) => [r.bucket, r.instalments, r.amount_open])).toEqual([
      ['not due', 2, 3],
      ['0-30', 2, 7],
      ['31-60', 2, 11],
      ['61-90', 2, 15],
      ['90+', 2, 19],
    ]);
    expect(aging.map((r) => r.bucket)).toEqual([...AGING_BUCKETS]);
    expect(aging.every((r) => r.as_of === asOf)).toBe(true);
    // Now: relative to the receivables' last loaded date.
    watermark(db, 'receivables', asOf);
    expect(run(db, 'receivables-aging')).toEqual(aging);
    expect(run(db, 'receivables-aging-by-customer', { asOf })).toEqual([
      { as_of: asOf, customer_code: 'C2', customer_name: null, instalments: 5, not_due: 0, days_0_30: 0, days_31_60: 6, days_61_90: 15, days_over_90: 19, total_open: 40 },
      { as_of: asOf, customer_code: 'C1', customer_name: null, instalments: 5, not_due: 3, days_0_30: 7, days_31_60: 5, days_61_90: 0, days_over_90: 0, total_open: 15 },
    ]);
    expect(run(db, 'outstanding-invoices', { asOf, customer: 'C1' }).map((r) => [r.invoice_no, r.days_past_due])).toEqual([
      ['FA4', 31],
      ['FA3', 30],
      ['FA2', 0],
      ['FA1', -1],
      ['FA0', -5],
    ]);
    // As of 10 May, FAY (closed on the 20th) was still open, and every due date is 21 days less past.
    expect(run(db, 'receivables-aging', { asOf: '2026-05-10' }).find((r) => r.bucket === '90+')).toMatchObject({ instalments: 2, amount_open: 17 });
  });

  it('reorder forecast: median gap over the last ten distinct order dates, cancelled orders left out, half a day rounded up', () => {
    const customer = (code: string, deleted = false) =>
      put(db, 'customers', { customer_code: code, name: code, price_list_code: 'T', payment_terms: '30J', credit_limit: 0, status: 'ACTIF' }, '2026-01-01', null, deleted);
    let n = 0;
    const order = (code: string, date: string, status = 'VALIDEE') =>
      put(db, 'orders', { order_no: `O${++n}`, customer_code: code, depot_code: 'D', order_date: date, status, total_excl_tax: 1 }, date);
    for (const code of ['ODD', 'EVEN', 'ONE', 'LONG']) customer(code);
    customer('GONE', true);
    // Gaps 2, 1, 4 → median 2; a second order the same day and a cancelled one change nothing.
    for (const d of ['2026-03-01', '2026-03-03', '2026-03-04', '2026-03-08']) order('ODD', d);
    order('ODD', '2026-03-08');
    order('ODD', '2026-03-09', 'ANNULEE');
    // Gaps 1, 2 → median 1.5 → next is 2 days after the last.
    for (const d of ['2026-03-01', '2026-03-02', '2026-03-04']) order('EVEN', d);
    order('ONE', '2026-03-05');
    // Twelve dates: the first two gaps (1 day each) fall outside the window of ten dates, whose
    // nine gaps are five of 10 days and four of 1 day: median 10 (with all eleven it would be 1).
    const long = ['2025-12-01', '2025-12-02', '2025-12-03', '2025-12-13', '2025-12-23', '2026-01-02', '2026-01-12', '2026-01-22', '2026-01-23', '2026-01-24', '2026-01-25', '2026-01-26'];
    for (const d of long) order('LONG', d);
    for (const d of ['2026-03-01', '2026-03-02']) order('GONE', d);
    watermark(db, 'orders', '2026-03-10');

    const rows = run(db, 'reorder-forecast');
    expect(rows).toEqual([
      { customer_code: 'LONG', customer_name: 'LONG', order_dates: 12, intervals: 9, last_order_date: '2026-01-26', median_interval_days: 10, next_expected_order: '2026-02-05', days_until_next: -33 },
      { customer_code: 'EVEN', customer_name: 'EVEN', order_dates: 3, intervals: 2, last_order_date: '2026-03-04', median_interval_days: 1.5, next_expected_order: '2026-03-06', days_until_next: -4 },
      { customer_code: 'ODD', customer_name: 'ODD', order_dates: 4, intervals: 3, last_order_date: '2026-03-08', median_interval_days: 2, next_expected_order: '2026-03-10', days_until_next: 0 },
    ]);
    // As of 3 March: ODD and EVEN had ordered on two dates each; days are counted to 3 March.
    const past = run(db, 'reorder-forecast', { asOf: '2026-03-03' });
    expect(past.map((r) => [r.customer_code, r.median_interval_days, r.next_expected_order, r.days_until_next])).toEqual([
      ['LONG', 10, '2026-02-05', -26],
      ['EVEN', 1, '2026-03-03', 0],
      ['ODD', 2, '2026-03-05', 2],
    ]);
    expect(run(db, 'reorder-forecast', { customer: 'ODD' }).map((r) => r.customer_code)).toEqual(['ODD']);
  });

  it("customer orders: each order once, in its state on the date, with the statuses it went through", () => {
    const version = (status: string, from: string, to: string | null) =>
      put(db, 'orders', { order_no: 'O1', customer_code: 'C1', depot_code: 'D', order_date: '2026-03-01', status, total_excl_tax: 12.5 }, from, to);
    version('SAISIE', '2026-03-01', '2026-03-02');
    version('VALIDEE', '2026-03-02', '2026-03-04');
    version('ANNULEE', '2026-03-04', null);
    put(db, 'orders', { order_no: 'O2', customer_code: 'C2', depot_code: 'D', order_date: '2026-03-01', status: 'SAISIE', total_excl_tax: 1 }, '2026-03-01');
    for (const line of [1, 2]) put(db, 'order_lines', { order_no: 'O1', line_no: line, product_code: 'P', quantity: 1, unit_price: 1, discount_pct: 0, line_total: 1 }, '2026-03-01');

    expect(run(db, 'customer-orders', { customer: 'C1' })).toEqual([
      {
        customer_code: 'C1',
        order_no: 'O1',
        order_date: '2026-03-01',
        status: 'ANNULEE',
        status_since: '2026-03-04',
        status_history: 'SAISIE 2026-03-01 > VALIDEE 2026-03-02 > ANNULEE 2026-03-04',
        versions: 3,
        total_excl_tax: 12.5,
        rep_code: null,
        depot_code: 'D',
        lines: 2,
      },
    ]);
    expect(run(db, 'customer-orders', { customer: 'C1', asOf: '2026-03-03' })).toMatchObject([{ status: 'VALIDEE', status_history: 'SAISIE 2026-03-01 > VALIDEE 2026-03-02', versions: 2 }]);
    expect(run(db, 'customer-orders', { customer: 'C1', asOf: '2026-02-28' })).toEqual([]);
    expect(run(db, 'customer-orders').map((r) => r.order_no)).toEqual(['O1', 'O2']);
  });

  it('stock and payments: as of a date, per depot, over a period', () => {
    put(db, 'depots', { depot_code: 'LYO', name: 'Lyon', city: 'Lyon' }, '2026-03-01');
    put(db, 'stock', { depot_code: 'LYO', product_code: 'P1', on_hand: 10, reserved: 2.5, on_order: 0 }, '2026-03-01', '2026-03-02');
    put(db, 'stock', { depot_code: 'LYO', product_code: 'P1', on_hand: 8, reserved: 2.5, on_order: 4 }, '2026-03-02');
    put(db, 'stock', { depot_code: 'LYO', product_code: 'P2', on_hand: -1, reserved: 0, on_order: 0 }, '2026-03-01');
    expect(run(db, 'stock-by-depot')).toEqual([{ depot_code: 'LYO', depot_name: 'Lyon', products: 2, on_hand: 7, reserved: 2.5, available: 4.5, on_order: 4 }]);
    expect(run(db, 'stock-by-depot', { asOf: '2026-03-01' })).toMatchObject([{ on_hand: 9, available: 6.5, on_order: 0 }]);
    expect(run(db, 'stock-levels', { asOf: '2026-03-01' }).map((r) => [r.product_code, r.available])).toEqual([
      ['P1', 7.5],
      ['P2', -1],
    ]);

    for (const [id, date] of [['RG1', '2026-03-01'], ['RG2', '2026-03-02'], ['RG3', '2026-03-03']] as const) {
      put(db, 'payments', { payment_id: id, customer_code: 'C1', invoice_no: 'FA1', payment_date: date, amount: 10, method: 'CB' }, date);
    }
    expect(run(db, 'payments', { from: '2026-03-02' }).map((r) => r.payment_id)).toEqual(['RG2', 'RG3']);
    expect(run(db, 'payments', { to: '2026-03-02', asOf: '2026-03-01' }).map((r) => r.payment_id)).toEqual(['RG1']);
  });
});

describe('warehouse report: the request', () => {
  it('names the reports, checks dates, periods, --customer and --by-month', () => {
    expect(parseReportRequest('payments', { from: '2026-03-01', to: '2026-03-31', asOf: '2026-04-02' }).options).toEqual({ from: '2026-03-01', to: '2026-03-31', asOf: '2026-04-02' });
    expect(parseReportRequest('revenue-by-rep', { byMonth: true }).options).toEqual({ byMonth: true });
    const refused = (name: string | undefined, flags: Parameters<typeof parseReportRequest>[1]) => {
      try {
        parseReportRequest(name, flags);
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused('sales', {})).toMatch(/^unknown report "sales"; the reports are revenue-by-customer, /);
    expect(refused(undefined, {})).toMatch(/^which report\?/);
    expect(refused('stock-levels', { asOf: '2026-13-01' })).toBe('--as-of must be a real date as YYYY-MM-DD, got "2026-13-01"');
    expect(refused('payments', { from: '01/03/2026' })).toBe('--from must be a real date as YYYY-MM-DD, got "01/03/2026"');
    expect(refused('payments', { from: '2026-03-02', to: '2026-03-01' })).toBe('--from 2026-03-02 is after --to 2026-03-01');
    expect(refused('stock-by-depot', { from: '2026-03-01' })).toMatch(/takes no period/);
    expect(refused('stock-by-depot', { customer: 'C1' })).toMatch(/not per customer/);
    expect(refused('customer-orders', {})).toBe('report customer-orders needs --customer CODE');
    expect(refused('payments', { byMonth: true })).toBe('report payments has no --by-month');
    for (const report of reportDefinitions) expect(reportListing()).toContain(report.name);
  });
});
