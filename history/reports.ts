import type { D1Param } from '../d1/client.ts';
import { contractFor } from '../contracts/index.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';
import type { ViewDefinition } from './ddl.ts';
import { watermarkDateSql } from './control/watermarks.ts';
import { unitsColumn, unitsToDecimalSql } from './stored-columns.ts';

/**
 * The reader reports of DESIGN §9 as pure SQL builders: revenue by customer, brand and rep,
 * receivables by aging bucket, stock by depot, a customer's order history, the reorder
 * forecast, outstanding invoices and payments. Each builder answers for the current state
 * (the `<t>_current` views) or as of a past business date from history
 * (`_valid_from <= d AND (_valid_to IS NULL OR _valid_to > d)`), and returns SQL text and
 * its bound parameters (numbered, at most four). The current state of each is also a `v_*`
 * view (readerViewsDdl), built from the same SQL, that dashboards read directly.
 * Amounts are stored as whole units (history/stored-columns.ts): every sum is the exact integer
 * `SUM` of the units, turned into the decimal once (sumOfUnits), never a sum of doubles.
 * Definitions, columns and examples: docs/reports.md. No I/O.
 */

/** What a report is asked. Dates are ISO business dates, `YYYY-MM-DD`. */
export interface ReportOptions {
  /** Answer from history as of this business date; absent: the current state. */
  asOf?: string;
  /** First day of the period (inclusive), for the reports that take one; absent: no lower bound. */
  from?: string;
  /** Last day of the period (inclusive); absent: no upper bound. */
  to?: string;
  /** One customer's rows only (required by customer-orders). */
  customer?: string;
  /** Revenue reports: one row per group and month (`YYYY-MM` of the invoice date). */
  byMonth?: boolean;
}

/** SQL text and its bound parameters (`?1`, `?2`, … in order). */
export interface ReportQuery {
  sql: string;
  params: D1Param[];
}

/** How a column's values read: the CLI prints money with 2 decimals and quantities with 3. */
export type ReportColumnKind = 'text' | 'date' | 'integer' | 'money' | 'quantity' | 'days';

/** One column of a report, in output order. */
export interface ReportColumn {
  name: string;
  kind: ReportColumnKind;
}

/** A named report. */
export interface ReportDefinition {
  name: string;
  /** One line for `warehouse report --list`. */
  summary: string;
  /** The table whose last loaded date the answer depends on most (for "loaded through"). */
  table: string;
  /** The `v_*` view holding the report's current state. */
  view: string;
  /** The options the view is built with (the revenue views are per month). */
  viewOptions: ReportOptions;
  /** Takes `--from/--to` (by invoice date, payment date). */
  period: boolean;
  /** `--customer`: refused, optional or required. */
  customer: 'none' | 'optional' | 'required';
  /** Takes `--by-month`. */
  byMonth: boolean;
  /** The columns (with `byMonth`, `month` follows the second one). */
  columns: readonly ReportColumn[];
  /**
   * What an empty code in the first column stands for, as the text table shows it (`(no rep)`:
   * an account without a rep). The data (`--json`, the view) keep the empty code.
   */
  unassigned?: string;
  build(options: ReportOptions): ReportQuery;
}

/** The order status of a cancellation (contracts/tables/orders.ts). */
const CANCELLED = 'ANNULEE';
/** The reorder forecast looks at a customer's last this-many distinct order dates. */
export const REORDER_WINDOW_DATES = 10;
/** Aging buckets in order, by days past due on the as-of date. */
export const AGING_BUCKETS = ['not due', '0-30', '31-60', '61-90', '90+'] as const;

/** Numbered parameters: one per distinct name, reused wherever the name appears. */
class Binder {
  readonly params: D1Param[] = [];
  private readonly refs = new Map<string, string>();

  bind(name: string, value: D1Param): string {
    let ref = this.refs.get(name);
    if (!ref) {
      this.params.push(value);
      ref = `?${this.params.length}`;
      this.refs.set(name, ref);
    }
    return ref;
  }
}

/** The SQL predicate of a version valid on the business date `d` (a bound parameter or an expression). */
export function asOfPredicate(d: string, alias = ''): string {
  const p = alias ? `${alias}.` : '';
  return `${p}_valid_from <= ${d} AND (${p}_valid_to IS NULL OR ${p}_valid_to > ${d})`;
}

/** A report being built: its options and its parameters. */
class Scope {
  readonly b = new Binder();
  readonly o: ReportOptions;
  constructor(options: ReportOptions) {
    this.o = options;
  }

  /** The as-of date as a bound parameter; only called when there is one. */
  private asOf(): string {
    return this.b.bind('asOf', this.o.asOf!);
  }

  /**
   * The rows of `table` in the report's state: `<t>_current` now, or the versions valid on
   * the as-of date. `withDeleted` keeps the tombstone of a key that left a full snapshot
   * (its last state), so a deleted customer still has a name and a rep.
   */
  state(table: string, withDeleted = false): string {
    if (this.o.asOf === undefined) return withDeleted ? `(SELECT ${presented(table)} FROM ${q(table)} WHERE _is_current = 1)` : q(`${table}_current`);
    return `(SELECT ${presented(table)} FROM ${q(table)} WHERE ${asOfPredicate(this.asOf())}${withDeleted ? '' : ' AND _is_deleted = 0'})`;
  }

  /** Every version of `table` known on the as-of date (all of them now). */
  versions(table: string): string {
    if (this.o.asOf === undefined) return `(SELECT ${presented(table)} FROM ${q(table)} WHERE _is_deleted = 0)`;
    return `(SELECT ${presented(table)} FROM ${q(table)} WHERE _valid_from <= ${this.asOf()} AND _is_deleted = 0)`;
  }

  /** Among `versions`, the one valid on the as-of date (the open one now). */
  validNow(alias: string): string {
    if (this.o.asOf === undefined) return `${alias}._is_current = 1`;
    return `(${alias}._valid_to IS NULL OR ${alias}._valid_to > ${this.asOf()})`;
  }

  /** The date days are counted to: the as-of date, or for the current state the table's last loaded business date. */
  referenceDate(table: string): string {
    if (this.o.asOf !== undefined) return this.asOf();
    return watermarkDateSql(table);
  }

  /** Conditions on a date column for the period, if any. */
  period(column: string): string[] {
    const out: string[] = [];
    if (this.o.from !== undefined) out.push(`${column} >= ${this.b.bind('from', this.o.from)}`);
    if (this.o.to !== undefined) out.push(`${column} <= ${this.b.bind('to', this.o.to)}`);
    return out;
  }

  /** The condition on a customer column, if a customer is asked for. */
  customer(column: string): string[] {
    return this.o.customer === undefined ? [] : [`${column} = ${this.b.bind('customer', this.o.customer)}`];
  }

  done(sql: string): ReportQuery {
    return { sql, params: this.b.params };
  }
}

/** A history table's columns as readers see them: every stored column, and each decimal as its value (`amount`) too. */
function presented(table: string): string {
  const decimals = contractFor(table).columns.flatMap((c) => (c.type.kind === 'decimal' ? [`${unitsToDecimalSql(q(unitsColumn(c.name)), c.type.scale)} AS ${q(c.name)}`] : []));
  return ['*', ...decimals].join(', ');
}

/** SQL: the exact sum of a units expression, as the decimal at `scale` (0 for no rows): one division of an exact integer. */
function sumOfUnits(units: string, scale: number): string {
  return unitsToDecimalSql(`coalesce(sum(${units}), 0)`, scale);
}

const where = (conditions: readonly string[]) => (conditions.length ? `WHERE ${conditions.join(' AND ')}` : '');

type Dimension = 'customer' | 'brand' | 'rep';

/**
 * Revenue from invoice lines, by invoice date. A credit note (AVOIR) counts as minus the
 * absolute value of its lines, so it reduces revenue exactly once whatever sign it carries
 * (Sodiwin's are negative). The rep is the order's; an invoice without an order takes the
 * rep on the customer's account.
 */
function revenue(dimension: Dimension, o: ReportOptions): ReportQuery {
  const s = new Scope(o);
  const joins: string[] = [];
  let key: string;
  if (dimension === 'customer') key = 'i.customer_code';
  else if (dimension === 'brand') {
    joins.push(`LEFT JOIN ${s.state('products', true)} AS p ON p.product_code = l.product_code`);
    key = 'p.brand_code';
  } else {
    joins.push(`LEFT JOIN ${s.state('orders')} AS o ON o.order_no = i.order_no`);
    joins.push(`LEFT JOIN ${s.state('customers', true)} AS c ON c.customer_code = i.customer_code`);
    key = 'CASE WHEN o.order_no IS NOT NULL THEN o.rep_code ELSE c.rep_code END';
  }
  const names = {
    customer: { table: 'customers', code: 'customer_code', label: 'customer' },
    brand: { table: 'brands', code: 'brand_code', label: 'brand' },
    rep: { table: 'reps', code: 'rep_code', label: 'rep' },
  }[dimension];
  const invoices = s.state('invoices');
  const lines = s.state('invoice_lines');
  const filter = where([...s.period('i.invoice_date'), ...s.customer('i.customer_code')]);
  const nameSource = s.state(names.table, true);
  const month = o.byMonth ? ', month' : '';
  return s.done(`WITH lines AS (
  SELECT i.invoice_no, i.doc_type, ${key} AS code, substr(i.invoice_date, 1, 7) AS month,
    CASE WHEN i.doc_type = 'AVOIR' THEN -abs(l.amount_units) ELSE l.amount_units END AS amount_units
  FROM ${invoices} AS i
  JOIN ${lines} AS l ON l.invoice_no = i.invoice_no
  ${joins.join('\n  ')}
  ${filter}
), totals AS (
  SELECT code${month},
    count(DISTINCT CASE WHEN doc_type = 'FACTURE' THEN invoice_no END) AS invoices,
    count(DISTINCT CASE WHEN doc_type = 'AVOIR' THEN invoice_no END) AS credit_notes,
    ${sumOfUnits("CASE WHEN doc_type = 'FACTURE' THEN amount_units END", 2)} AS invoiced,
    ${sumOfUnits("CASE WHEN doc_type = 'AVOIR' THEN amount_units END", 2)} AS credited,
    ${sumOfUnits('amount_units', 2)} AS net_revenue
  FROM lines GROUP BY code${month}
)
SELECT t.code AS ${names.code}, n.name AS ${names.label}_name${o.byMonth ? ', t.month' : ''}, t.invoices, t.credit_notes, t.invoiced, t.credited, t.net_revenue
FROM totals AS t LEFT JOIN ${nameSource} AS n ON n.${names.code} = t.code
ORDER BY ${o.byMonth ? 't.month, ' : ''}t.net_revenue DESC, t.code`);
}

/** Open instalments with their days past due on the reference date and their bucket. */
function bucketed(s: Scope): string {
  const ref = s.referenceDate('receivables');
  return `open_instalments AS (
  SELECT r.invoice_no, r.due_seq, r.customer_code, r.due_date, r.amount_due, r.amount_open, r.amount_open_units,
    CAST(julianday(${ref}) - julianday(r.due_date) AS INTEGER) AS days_past_due
  FROM ${s.state('receivables')} AS r
  ${where(['r.amount_open > 0', ...s.customer('r.customer_code')])}
), bucketed AS (
  SELECT open_instalments.*, CASE WHEN days_past_due < 0 THEN 'not due' WHEN days_past_due <= 30 THEN '0-30' WHEN days_past_due <= 60 THEN '31-60'
    WHEN days_past_due <= 90 THEN '61-90' ELSE '90+' END AS bucket
  FROM open_instalments
)`;
}

/** Accounts receivable by aging bucket: every bucket, even an empty one. */
function receivablesAging(o: ReportOptions): ReportQuery {
  const s = new Scope(o);
  const cte = bucketed(s);
  return s.done(`WITH ${cte}, buckets(bucket, position) AS (VALUES ${AGING_BUCKETS.map((b, i) => `('${b}', ${i + 1})`).join(', ')})
SELECT ${s.referenceDate('receivables')} AS as_of, k.bucket, count(b.bucket) AS instalments, count(DISTINCT b.customer_code) AS customers,
  ${sumOfUnits('b.amount_open_units', 2)} AS amount_open
FROM buckets AS k LEFT JOIN bucketed AS b ON b.bucket = k.bucket
GROUP BY k.position, k.bucket ORDER BY k.position`);
}

/** Accounts receivable per customer, one column per aging bucket. */
function receivablesAgingByCustomer(o: ReportOptions): ReportQuery {
  const s = new Scope(o);
  const cte = bucketed(s);
  const column = (bucket: string, name: string) => `${sumOfUnits(`CASE WHEN b.bucket = '${bucket}' THEN b.amount_open_units END`, 2)} AS ${name}`;
  return s.done(`WITH ${cte}
SELECT ${s.referenceDate('receivables')} AS as_of, b.customer_code, c.name AS customer_name, count(*) AS instalments,
  ${column('not due', 'not_due')}, ${column('0-30', 'days_0_30')}, ${column('31-60', 'days_31_60')}, ${column('61-90', 'days_61_90')}, ${column('90+', 'days_over_90')},
  ${sumOfUnits('b.amount_open_units', 2)} AS total_open
FROM bucketed AS b LEFT JOIN ${s.state('customers', true)} AS c ON c.customer_code = b.customer_code
GROUP BY b.customer_code ORDER BY total_open DESC, b.customer_code`);
}

/** Stock totals per depot (quantities of different units added up: a volume indicator). */
function stockByDepot(o: ReportOptions): ReportQuery {
  const s = new Scope(o);
  return s.done(`SELECT s.depot_code, d.name AS depot_name, count(*) AS products,
  ${sumOfUnits('s.on_hand_units', 3)} AS on_hand, ${sumOfUnits('s.reserved_units', 3)} AS reserved,
  ${sumOfUnits('s.on_hand_units - s.reserved_units', 3)} AS available, ${sumOfUnits('s.on_order_units', 3)} AS on_order
FROM ${s.state('stock')} AS s LEFT JOIN ${s.state('depots', true)} AS d ON d.depot_code = s.depot_code
GROUP BY s.depot_code ORDER BY s.depot_code`);
}

/** Stock per product per depot. */
function stockLevels(o: ReportOptions): ReportQuery {
  const s = new Scope(o);
  return s.done(`SELECT s.depot_code, s.product_code, p.label, p.brand_code, p.unit,
  s.on_hand, s.reserved, ${unitsToDecimalSql('(s.on_hand_units - s.reserved_units)', 3)} AS available, s.on_order
FROM ${s.state('stock')} AS s LEFT JOIN ${s.state('products', true)} AS p ON p.product_code = s.product_code
ORDER BY s.depot_code, s.product_code`);
}

/**
 * Every order of a customer with its state on the date and the statuses it went through
 * (`SAISIE 2026-03-02 > ANNULEE 2026-03-04`): a cancellation is a later version, never a delete.
 */
function customerOrders(o: ReportOptions): ReportQuery {
  const s = new Scope(o);
  const versions = s.versions('orders');
  const customer = s.customer('v.customer_code');
  const valid = s.validNow('h');
  return s.done(`WITH history AS (
  SELECT v.*,
    group_concat(v.status || ' ' || v._valid_from, ' > ') OVER h AS status_history,
    count(*) OVER h AS versions
  FROM ${versions} AS v
  ${where(customer)}
  WINDOW h AS (PARTITION BY v.order_no ORDER BY v._valid_from ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT h.customer_code, h.order_no, h.order_date, h.status, h._valid_from AS status_since, h.status_history, h.versions,
  h.total_excl_tax, h.rep_code, h.depot_code,
  (SELECT count(*) FROM ${s.state('order_lines')} AS l WHERE l.order_no = h.order_no) AS lines
FROM history AS h WHERE ${valid}
ORDER BY h.customer_code, h.order_date, h.order_no`);
}

/**
 * Purchasing cadence and the next expected order, per customer still in the customer file:
 * over the customer's last REORDER_WINDOW_DATES distinct order dates (orders not cancelled
 * on the date), the median gap between consecutive dates in days (the mean of the two
 * middle gaps for an even count); next expected order = last order date + that median
 * rounded half up. A customer with fewer than two order dates has no forecast (no row).
 */
function reorderForecast(o: ReportOptions): ReportQuery {
  const s = new Scope(o);
  const ref = s.referenceDate('orders');
  return s.done(`WITH dates AS (
  SELECT DISTINCT o.customer_code, o.order_date FROM ${s.state('orders')} AS o
  ${where([`o.status <> '${CANCELLED}'`, ...s.customer('o.customer_code')])}
), recent AS (
  SELECT customer_code, order_date FROM (
    SELECT customer_code, order_date, row_number() OVER (PARTITION BY customer_code ORDER BY order_date DESC) AS rn FROM dates)
  WHERE rn <= ${REORDER_WINDOW_DATES}
), gaps AS (
  SELECT customer_code, julianday(order_date) - julianday(lag(order_date) OVER (PARTITION BY customer_code ORDER BY order_date)) AS gap FROM recent
), ranked AS (
  SELECT customer_code, gap, row_number() OVER (PARTITION BY customer_code ORDER BY gap) AS k, count(*) OVER (PARTITION BY customer_code) AS n
  FROM gaps WHERE gap IS NOT NULL
), medians AS (
  SELECT customer_code, avg(gap) AS median_gap, max(n) AS intervals FROM ranked WHERE k IN ((n + 1) / 2, (n + 2) / 2) GROUP BY customer_code
), forecast AS (
  SELECT m.customer_code, m.intervals, m.median_gap,
    (SELECT count(*) FROM dates AS d WHERE d.customer_code = m.customer_code) AS order_dates,
    (SELECT max(order_date) FROM dates AS d WHERE d.customer_code = m.customer_code) AS last_order_date
  FROM medians AS m
)
SELECT f.customer_code, c.name AS customer_name, f.order_dates, f.intervals, f.last_order_date,
  round(f.median_gap, 1) AS median_interval_days,
  date(f.last_order_date, '+' || CAST(round(f.median_gap) AS INTEGER) || ' days') AS next_expected_order,
  CAST(julianday(date(f.last_order_date, '+' || CAST(round(f.median_gap) AS INTEGER) || ' days')) - julianday(${ref}) AS INTEGER) AS days_until_next
FROM forecast AS f JOIN ${s.state('customers')} AS c ON c.customer_code = f.customer_code
ORDER BY next_expected_order, f.customer_code`);
}

/** Receivables with an amount still open, oldest due date first. */
function outstandingInvoices(o: ReportOptions): ReportQuery {
  const s = new Scope(o);
  const ref = s.referenceDate('receivables');
  return s.done(`SELECT r.invoice_no, r.due_seq, r.customer_code, c.name AS customer_name, i.invoice_date, r.due_date,
  CAST(julianday(${ref}) - julianday(r.due_date) AS INTEGER) AS days_past_due, r.amount_due, r.amount_open
FROM ${s.state('receivables')} AS r
LEFT JOIN ${s.state('customers', true)} AS c ON c.customer_code = r.customer_code
LEFT JOIN ${s.state('invoices')} AS i ON i.invoice_no = r.invoice_no
${where(['r.amount_open > 0', ...s.customer('r.customer_code')])}
ORDER BY r.due_date, r.invoice_no, r.due_seq`);
}

/** Payments received, by payment date. */
function paymentList(o: ReportOptions): ReportQuery {
  const s = new Scope(o);
  const payments = s.state('payments');
  const customers = s.state('customers', true);
  return s.done(`SELECT p.payment_date, p.payment_id, p.customer_code, c.name AS customer_name, p.invoice_no, p.amount, p.method
FROM ${payments} AS p LEFT JOIN ${customers} AS c ON c.customer_code = p.customer_code
${where([...s.period('p.payment_date'), ...s.customer('p.customer_code')])}
ORDER BY p.payment_date, p.payment_id`);
}

const col = (name: string, kind: ReportColumnKind): ReportColumn => ({ name, kind });
const revenueColumns = (code: string, label: string): ReportColumn[] => [
  col(code, 'text'),
  col(`${label}_name`, 'text'),
  col('invoices', 'integer'),
  col('credit_notes', 'integer'),
  col('invoiced', 'money'),
  col('credited', 'money'),
  col('net_revenue', 'money'),
];
const revenueReport = (dimension: Dimension, code: string, summary: string): ReportDefinition => ({
  name: `revenue-by-${dimension}`,
  summary,
  table: 'invoices',
  view: `v_revenue_by_${dimension}_month`,
  viewOptions: { byMonth: true },
  period: true,
  customer: 'optional',
  byMonth: true,
  columns: revenueColumns(code, dimension),
  unassigned: `(no ${dimension})`,
  build: (o) => revenue(dimension, o),
});

/** Every report, in the order `warehouse report --list` shows them. */
export const reportDefinitions: readonly ReportDefinition[] = [
  revenueReport('customer', 'customer_code', 'net revenue per customer (invoices minus credit notes, from invoice lines)'),
  revenueReport('brand', 'brand_code', 'net revenue per product brand'),
  revenueReport('rep', 'rep_code', "net revenue per sales rep (the order's rep, else the account's)"),
  {
    name: 'receivables-aging',
    summary: 'open receivables by aging bucket: not due, 0-30, 31-60, 61-90, 90+ days past due',
    table: 'receivables',
    view: 'v_receivables_aging',
    viewOptions: {},
    period: false,
    customer: 'optional',
    byMonth: false,
    columns: [col('as_of', 'date'), col('bucket', 'text'), col('instalments', 'integer'), col('customers', 'integer'), col('amount_open', 'money')],
    build: receivablesAging,
  },
  {
    name: 'receivables-aging-by-customer',
    summary: 'open receivables per customer, one column per aging bucket',
    table: 'receivables',
    view: 'v_receivables_aging_by_customer',
    viewOptions: {},
    period: false,
    customer: 'optional',
    byMonth: false,
    columns: [
      col('as_of', 'date'),
      col('customer_code', 'text'),
      col('customer_name', 'text'),
      col('instalments', 'integer'),
      col('not_due', 'money'),
      col('days_0_30', 'money'),
      col('days_31_60', 'money'),
      col('days_61_90', 'money'),
      col('days_over_90', 'money'),
      col('total_open', 'money'),
    ],
    build: receivablesAgingByCustomer,
  },
  {
    name: 'stock-by-depot',
    summary: 'stock totals per depot: positions, on hand, reserved, available, on order',
    table: 'stock',
    view: 'v_stock_by_depot',
    viewOptions: {},
    period: false,
    customer: 'none',
    byMonth: false,
    columns: [col('depot_code', 'text'), col('depot_name', 'text'), col('products', 'integer'), col('on_hand', 'quantity'), col('reserved', 'quantity'), col('available', 'quantity'), col('on_order', 'quantity')],
    build: stockByDepot,
  },
  {
    name: 'stock-levels',
    summary: 'stock per product per depot',
    table: 'stock',
    view: 'v_stock_levels',
    viewOptions: {},
    period: false,
    customer: 'none',
    byMonth: false,
    columns: [
      col('depot_code', 'text'),
      col('product_code', 'text'),
      col('label', 'text'),
      col('brand_code', 'text'),
      col('unit', 'text'),
      col('on_hand', 'quantity'),
      col('reserved', 'quantity'),
      col('available', 'quantity'),
      col('on_order', 'quantity'),
    ],
    build: stockLevels,
  },
  {
    name: 'customer-orders',
    summary: "a customer's full order history, cancellations included, with each order's status changes",
    table: 'orders',
    view: 'v_customer_orders',
    viewOptions: {},
    period: false,
    customer: 'required',
    byMonth: false,
    columns: [
      col('customer_code', 'text'),
      col('order_no', 'text'),
      col('order_date', 'date'),
      col('status', 'text'),
      col('status_since', 'date'),
      col('status_history', 'text'),
      col('versions', 'integer'),
      col('total_excl_tax', 'money'),
      col('rep_code', 'text'),
      col('depot_code', 'text'),
      col('lines', 'integer'),
    ],
    build: customerOrders,
  },
  {
    name: 'reorder-forecast',
    summary: `purchasing cadence and next expected order per customer (median gap over the last ${REORDER_WINDOW_DATES} order dates)`,
    table: 'orders',
    view: 'v_reorder_forecast',
    viewOptions: {},
    period: false,
    customer: 'optional',
    byMonth: false,
    columns: [
      col('customer_code', 'text'),
      col('customer_name', 'text'),
      col('order_dates', 'integer'),
      col('intervals', 'integer'),
      col('last_order_date', 'date'),
      col('median_interval_days', 'days'),
      col('next_expected_order', 'date'),
      col('days_until_next', 'integer'),
    ],
    build: reorderForecast,
  },
  {
    name: 'outstanding-invoices',
    summary: 'invoice instalments with an amount still open, oldest due date first',
    table: 'receivables',
    view: 'v_outstanding_invoices',
    viewOptions: {},
    period: false,
    customer: 'optional',
    byMonth: false,
    columns: [
      col('invoice_no', 'text'),
      col('due_seq', 'integer'),
      col('customer_code', 'text'),
      col('customer_name', 'text'),
      col('invoice_date', 'date'),
      col('due_date', 'date'),
      col('days_past_due', 'integer'),
      col('amount_due', 'money'),
      col('amount_open', 'money'),
    ],
    build: outstandingInvoices,
  },
  {
    name: 'payments',
    summary: 'payments received in a period (by payment date)',
    table: 'payments',
    view: 'v_payments',
    viewOptions: {},
    period: true,
    customer: 'optional',
    byMonth: false,
    columns: [
      col('payment_date', 'date'),
      col('payment_id', 'text'),
      col('customer_code', 'text'),
      col('customer_name', 'text'),
      col('invoice_no', 'text'),
      col('amount', 'money'),
      col('method', 'text'),
    ],
    build: paymentList,
  },
];

/** The report of that name, or undefined. */
export function reportFor(name: string): ReportDefinition | undefined {
  return reportDefinitions.find((r) => r.name === name);
}

/** A report's columns as its query returns them for these options (`month` with byMonth). */
export function reportColumns(report: ReportDefinition, options: ReportOptions): ReportColumn[] {
  const columns = [...report.columns];
  if (report.byMonth && options.byMonth) columns.splice(2, 0, col('month', 'text'));
  return columns;
}

/**
 * The reader views: each report's current state as `v_*`, built from the same SQL. A view
 * may name a history table that no load has created yet (SQLite resolves it when read);
 * migrate replaces a view whose SQL changed (history/views.ts).
 */
export function readerViews(): ViewDefinition[] {
  return reportDefinitions.map((report) => {
    const { sql, params } = report.build(report.viewOptions);
    if (params.length > 0) throw new Error(`view ${report.view} would need bound parameters`);
    return { name: report.view, sql };
  });
}

/** The reader views as migration 0001 creates them: idempotent DDL. */
export function readerViewsDdl(): string[] {
  return readerViews().map((view) => `CREATE VIEW IF NOT EXISTS ${q(view.name)} AS\n${view.sql}`);
}
