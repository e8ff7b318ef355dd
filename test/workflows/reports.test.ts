import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../../common/business-dates.ts';
import { generateExports } from '../../generator/index.ts';
import { agingBuckets, readReportTruth, type ReportTruth, type RevenueTruth } from '../../generator/report-truth.ts';
import { formatTotal, readTruth, type GeneratorEvent } from '../../generator/truth.ts';
import { reportDefinitions, reportFor, type ReportOptions } from '../../history/reports.ts';
import { runWarehouse } from '../support/cli.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

/**
 * The reader reports against a warehouse loaded by the real nightly workflow, each compared
 * with what the generator recorded from its own simulation (`.truth/reports/<date>.json`):
 * for the current state (the last night) and as of each earlier night, from history.
 */

const days = ['2026-04-06', '2026-04-07', '2026-04-08'];
const current = days.at(-1)!;
type Row = Record<string, unknown>;

const money = (v: unknown) => formatTotal(Math.round(Number(v) * 100), 2);
const quantity = (v: unknown) => formatTotal(Math.round(Number(v) * 1000), 3);

describe('reader reports: every report, now and as of a past night, against the generator\'s own figures', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  const truths = new Map<string, ReportTruth>();

  /** A report's rows: the current state, or as of `date` from history. */
  async function report(name: string, options: ReportOptions = {}): Promise<Row[]> {
    const { sql, params } = reportFor(name)!.build(options);
    const [result] = await warehouse.d1.query<Row>(sql, params);
    return result?.results ?? [];
  }

  /** The report's options and the truth it must match: as of each earlier night, then now. */
  const states = () => days.map((date) => ({ date, options: (date === current ? {} : { asOf: date }) as ReportOptions, truth: truths.get(date)! }));

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: days[0]!, days: days.length, scale: 0.3, seed: 14 });
    for (const day of days) truths.set(day, await readReportTruth(warehouse.inbox, day));
    worker = await startWorker(warehouse.config);
    for (const day of days) expect((await runNight(warehouse, day)).status).toBe('ok');
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('revenue by customer, brand and rep: invoices minus credit notes, all time, now and as of each night', async () => {
    const revenue = (rows: Row[], code: string): Record<string, RevenueTruth> =>
      Object.fromEntries(
        rows.map((r) => [r[code] ?? '', { invoices: r.invoices, creditNotes: r.credit_notes, invoiced: money(r.invoiced), credited: money(r.credited), net: money(r.net_revenue) }]),
      );
    for (const { date, options, truth } of states()) {
      expect(revenue(await report('revenue-by-customer', options), 'customer_code'), `by customer, ${date}`).toEqual(truth.revenue.byCustomer);
      expect(revenue(await report('revenue-by-brand', options), 'brand_code'), `by brand, ${date}`).toEqual(truth.revenue.byBrand);
      expect(revenue(await report('revenue-by-rep', options), 'rep_code'), `by rep, ${date}`).toEqual(truth.revenue.byRep);
    }
    // The data holds credit notes, and each reduces revenue exactly once: the net total is the
    // invoices file's control total (credit notes negative there), recorded by the older truth.
    const now = truths.get(current)!;
    expect(Object.values(now.revenue.byCustomer).reduce((n, c) => n + c.creditNotes, 0)).toBeGreaterThan(0);
    const net = (await report('revenue-by-customer')).reduce((sum, r) => sum + Math.round(Number(r.net_revenue) * 100), 0);
    expect(formatTotal(net, 2)).toBe((await readTruth(warehouse.inbox, current)).tables.invoices!.current.totals.total_excl_tax);
  });

  it('the CLI names the unassigned rep "(no rep)" in its table, keeps the empty code in --json, and says when nothing was loaded as of the date', async () => {
    const truth = truths.get(current)!;
    expect(truth.revenue.byRep['']).toBeDefined(); // some accounts have no rep
    const text = await runWarehouse(['report', 'revenue-by-rep'], warehouse.env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stderr).toBe('');
    const unassigned = text.stdout.split('\n').filter((line) => line.startsWith('(no rep) '));
    expect(unassigned).toHaveLength(1);
    expect(unassigned[0]).toContain(truth.revenue.byRep['']!.net);
    expect(text.stdout.split('\n').filter((line) => /^ +\d/.test(line))).toEqual([]); // no row starts with an empty code
    const json = JSON.parse((await runWarehouse(['report', 'revenue-by-rep', '--json'], warehouse.env)).stdout) as { rows: Row[] };
    expect(json.rows.filter((r) => !r.rep_code).map((r) => money(r.net_revenue))).toEqual([truth.revenue.byRep['']!.net]);
    expect(JSON.stringify(json)).not.toContain('(no rep)');

    // Before the first night, the answer is empty for want of data: said on stderr, exit 2, the data untouched.
    const before = addDays(days[0]!, -3);
    for (const args of [['report', 'revenue-by-rep', '--as-of', before], ['report', 'stock-by-depot', '--as-of', before, '--json']]) {
      const early = await runWarehouse(args, warehouse.env);
      expect(early.code, early.stderr).toBe(2);
      expect(early.stderr).toMatch(new RegExp(`^warehouse: nothing was loaded as of ${before}: the first date \\w+ is loaded for is ${days[0]}, so [\\w-]+ has no answer before it\n$`));
    }
    const early = await runWarehouse(['report', 'stock-by-depot', '--as-of', before, '--json'], warehouse.env);
    expect(JSON.parse(early.stdout)).toMatchObject({ report: 'stock-by-depot', asOf: before, rows: [] });
    // From the first night on, no word.
    const first = await runWarehouse(['report', 'revenue-by-rep', '--as-of', days[0]!], warehouse.env);
    expect([first.code, first.stderr]).toEqual([0, '']);
  });

  it('revenue over a period and per month', async () => {
    const truth = truths.get(current)!;
    const [from, to] = [addDays(days[0]!, -20), days[1]!];
    const expected = Object.entries(truth.revenue.netByInvoiceDate).reduce((sum, [d, n]) => (d >= from && d <= to ? sum + Math.round(Number(n) * 100) : sum), 0);
    for (const [name, code] of [['revenue-by-customer', 'customer_code'], ['revenue-by-brand', 'brand_code'], ['revenue-by-rep', 'rep_code']] as const) {
      const rows = await report(name, { from, to });
      expect(rows.every((r) => r[code] !== undefined)).toBe(true);
      expect(formatTotal(rows.reduce((sum, r) => sum + Math.round(Number(r.net_revenue) * 100), 0), 2), name).toBe(formatTotal(expected, 2));
    }
    const byMonth = new Map<string, number>();
    for (const [d, n] of Object.entries(truth.revenue.netByInvoiceDate)) byMonth.set(d.slice(0, 7), (byMonth.get(d.slice(0, 7)) ?? 0) + Math.round(Number(n) * 100));
    const monthly = new Map<string, number>();
    for (const r of await report('revenue-by-brand', { byMonth: true })) monthly.set(String(r.month), (monthly.get(String(r.month)) ?? 0) + Math.round(Number(r.net_revenue) * 100));
    expect(monthly).toEqual(byMonth);
    // One customer only.
    const [code, customer] = Object.entries(truth.revenue.byCustomer)[0]!;
    expect((await report('revenue-by-customer', { customer: code })).map((r) => money(r.net_revenue))).toEqual([customer.net]);
  });

  it('receivables by aging bucket, per customer, and the outstanding invoices, relative to the as-of date', async () => {
    for (const { date, options, truth } of states()) {
      const aging = await report('receivables-aging', options);
      expect(aging.map((r) => r.bucket)).toEqual([...agingBuckets]);
      expect(aging.every((r) => r.as_of === date)).toBe(true);
      expect(Object.fromEntries(aging.map((r) => [r.bucket, { instalments: r.instalments, customers: r.customers, amountOpen: money(r.amount_open) }])), `aging, ${date}`).toEqual(truth.receivables.buckets);

      const byCustomer = await report('receivables-aging-by-customer', options);
      const columns = { 'not due': 'not_due', '0-30': 'days_0_30', '31-60': 'days_31_60', '61-90': 'days_61_90', '90+': 'days_over_90' } as const;
      expect(
        Object.fromEntries(byCustomer.map((r) => [r.customer_code, { instalments: r.instalments, amountOpen: money(r.total_open), buckets: Object.fromEntries(agingBuckets.map((b) => [b, money(r[columns[b]])])) }])),
        `aging by customer, ${date}`,
      ).toEqual(truth.receivables.byCustomer);

      const outstanding = await report('outstanding-invoices', options);
      const perCustomer = new Map<string, { instalments: number; cents: number }>();
      for (const r of outstanding) {
        expect(Number(r.amount_open)).toBeGreaterThan(0);
        expect(r.days_past_due).toBe(Math.round((Date.parse(date) - Date.parse(String(r.due_date))) / 86_400_000));
        const c = perCustomer.get(String(r.customer_code)) ?? { instalments: 0, cents: 0 };
        perCustomer.set(String(r.customer_code), { instalments: c.instalments + 1, cents: c.cents + Math.round(Number(r.amount_open) * 100) });
      }
      expect(
        Object.fromEntries([...perCustomer].map(([k, c]) => [k, { instalments: c.instalments, amountOpen: formatTotal(c.cents, 2) }])),
        `outstanding, ${date}`,
      ).toEqual(Object.fromEntries(Object.entries(truth.receivables.byCustomer).map(([k, c]) => [k, { instalments: c.instalments, amountOpen: c.amountOpen }])));
    }
    expect(truths.get(current)!.receivables.buckets['90+'].instalments).toBeGreaterThan(0);
  });

  it('stock per depot and per product per depot', async () => {
    for (const { date, options, truth } of states()) {
      const depots = await report('stock-by-depot', options);
      expect(Object.fromEntries(depots.map((r) => [r.depot_code, { products: r.products, onHand: quantity(r.on_hand), reserved: quantity(r.reserved), onOrder: quantity(r.on_order) }])), `by depot, ${date}`).toEqual(
        truth.stock.byDepot,
      );
      const levels = await report('stock-levels', options);
      expect(levels).toHaveLength(truth.stock.positions);
      const lines = levels.map((r) => `${r.depot_code}|${r.product_code}|${quantity(r.on_hand)}|${quantity(r.reserved)}|${quantity(r.on_order)}`).sort();
      expect(createHash('sha256').update(lines.join('\n')).digest('hex'), `levels, ${date}`).toBe(truth.stock.positionsDigest);
      expect(levels.every((r) => quantity(r.available) === quantity(Number(r.on_hand) - Number(r.reserved)))).toBe(true);
    }
  });

  it("a customer's full order history: cancellations are later versions, and as of the day before they were not cancelled", async () => {
    for (const { date, options, truth } of states()) {
      const rows = await report('customer-orders', options);
      const perCustomer: ReportTruth['ordersByCustomer'] = {};
      for (const r of rows) {
        const c = (perCustomer[String(r.customer_code)] ??= { orders: 0, cancelled: 0, versions: 0 });
        c.orders++;
        if (r.status === 'ANNULEE') c.cancelled++;
        c.versions += Number(r.versions);
      }
      expect(perCustomer, `orders, ${date}`).toEqual(truth.ordersByCustomer);
    }
    const cancellations = (await readTruth(warehouse.inbox, current)).events.filter((e): e is Extract<GeneratorEvent, { type: 'order_cancelled' }> => e.type === 'order_cancelled');
    expect(cancellations.length).toBeGreaterThan(0);
    for (const event of cancellations) {
      const [owner] = (await report('customer-orders')).filter((r) => r.order_no === event.order_no);
      const customer = String(owner!.customer_code);
      const now = (await report('customer-orders', { customer })).find((r) => r.order_no === event.order_no)!;
      expect(now).toMatchObject({ status: 'ANNULEE', status_since: event.date });
      expect(String(now.status_history)).toMatch(new RegExp(`${event.previous_status} \\d{4}-\\d{2}-\\d{2} > ANNULEE ${event.date}$`));
      const before = (await report('customer-orders', { customer, asOf: addDays(event.date, -1) })).find((r) => r.order_no === event.order_no)!;
      expect(before.status).toBe(event.previous_status);
      expect(Number(before.versions)).toBe(Number(now.versions) - 1);
      expect((await report('customer-orders', { customer })).every((r) => r.customer_code === customer)).toBe(true);
    }
  });

  it('purchasing cadence and next expected order per customer', async () => {
    for (const { date, options, truth } of states()) {
      const rows = await report('reorder-forecast', options);
      expect(
        Object.fromEntries(
          rows.map((r) => [
            r.customer_code,
            { orderDates: r.order_dates, intervals: r.intervals, lastOrderDate: r.last_order_date, medianIntervalDays: r.median_interval_days, nextExpectedOrder: r.next_expected_order, daysUntilNext: r.days_until_next },
          ]),
        ),
        `reorder, ${date}`,
      ).toEqual(truth.reorder);
    }
    expect(Object.values(truths.get(current)!.reorder).some((r) => r.intervals >= 2)).toBe(true);
  });

  it('payments over a period, now and as of a past night', async () => {
    const sum = (byDate: ReportTruth['paymentsByDate'], from: string, to: string) =>
      Object.entries(byDate).reduce((acc, [d, p]) => (d >= from && d <= to ? { payments: acc.payments + p.payments, cents: acc.cents + Math.round(Number(p.amount) * 100) } : acc), { payments: 0, cents: 0 });
    const totals = (rows: Row[]) => ({ payments: rows.length, cents: rows.reduce((n, r) => n + Math.round(Number(r.amount) * 100), 0) });
    const now = truths.get(current)!;
    expect(totals(await report('payments', { from: days[1]!, to: current }))).toEqual(sum(now.paymentsByDate, days[1]!, current));
    expect(totals(await report('payments'))).toEqual(sum(now.paymentsByDate, '0000-00-00', current));
    expect(totals(await report('payments', { asOf: days[1]! }))).toEqual(sum(truths.get(days[1]!)!.paymentsByDate, '0000-00-00', days[1]!));
    expect(sum(now.paymentsByDate, days[1]!, current).payments).toBeGreaterThan(0);
  });

  it('the v_* views hold each report\'s current state', async () => {
    for (const definition of reportDefinitions) {
      const [view] = await warehouse.d1.query<Row>(`SELECT * FROM ${definition.view}`);
      const { sql, params } = definition.build(definition.viewOptions);
      const [built] = await warehouse.d1.query<Row>(sql, params);
      expect(view?.results, definition.view).toEqual(built?.results);
      expect(Object.keys(view?.results[0] ?? {}), definition.view).toEqual(Object.keys(built?.results[0] ?? {}));
    }
  });

  it('warehouse report: --json, a readable table, and a one-line refusal', async () => {
    const [json, text, unknown, noCustomer] = await Promise.all([
      runWarehouse(['report', 'receivables-aging', '--as-of', days[1]!, '--json'], warehouse.env),
      runWarehouse(['report', 'stock-by-depot'], warehouse.env),
      runWarehouse(['report', 'turnover'], warehouse.env),
      runWarehouse(['report', 'customer-orders', '--as-of', '2026-02-30'], warehouse.env),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const answer = JSON.parse(json.stdout) as { report: string; asOf: string; loadedThrough: string; rows: Row[] };
    expect(answer).toMatchObject({ report: 'receivables-aging', asOf: days[1], loadedThrough: current });
    expect(answer.rows).toEqual(await report('receivables-aging', { asOf: days[1]! }));

    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`current state (stock loaded through ${current})`);
    const [firstDepot, truthDepot] = Object.entries(truths.get(current)!.stock.byDepot)[0]!;
    expect(text.stdout).toMatch(new RegExp(`^${firstDepot} .* ${truthDepot.onHand.replace('.', '\\.')} `, 'm'));

    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe(`warehouse: unknown report "turnover"; the reports are ${reportDefinitions.map((r) => r.name).join(', ')}`);
    expect(noCustomer.code).toBe(1);
    expect(noCustomer.stderr.trim()).toBe('warehouse: --as-of must be a real date as YYYY-MM-DD, got "2026-02-30"');
  });
});
