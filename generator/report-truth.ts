import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { addDays, daysBetween } from './calendar.ts';
import { formatTotal } from './truth.ts';
import type { World } from './world.ts';

/**
 * The ground truth of the reader reports (docs/reports.md), recorded beside the exports in
 * `.truth/reports/<date>.json`: what each report must answer as of that business date,
 * computed from the simulation's own objects (orders, invoices, instalments, payments, stock
 * positions) as the day is written, never from the CSV files and never with warehouse SQL.
 * The definitions (credit notes, aging buckets, the reorder cadence) follow docs/reports.md
 * and are written out here independently of history/reports.ts, so a test compares two
 * implementations of one specification.
 */

/** Aging buckets, by days past due on the as-of date (due date after it: not due yet). */
export const agingBuckets = ['not due', '0-30', '31-60', '61-90', '90+'] as const;
/** One of agingBuckets. */
export type AgingBucket = (typeof agingBuckets)[number];

/** The reorder forecast looks at a customer's last this-many distinct order dates. */
const reorderWindowDates = 10;

/** Revenue of one customer, brand or rep; money as `"1234.50"` (credit notes negative). */
export interface RevenueTruth {
  /** Invoices (FACTURE) with at least one line in the group. */
  invoices: number;
  /** Credit notes (AVOIR) with at least one line in the group. */
  creditNotes: number;
  invoiced: string;
  credited: string;
  net: string;
}

/** Open instalments and their open amount. */
export interface OpenTruth {
  instalments: number;
  amountOpen: string;
}

/** The reports' truth as of one business date (every export through that date loaded). */
export interface ReportTruth {
  businessDate: string;
  revenue: {
    /** All time, by customer code; by brand code; by rep code (`""`: no rep). */
    byCustomer: Record<string, RevenueTruth>;
    byBrand: Record<string, RevenueTruth>;
    byRep: Record<string, RevenueTruth>;
    /** Net revenue per invoice date, for period checks. */
    netByInvoiceDate: Record<string, string>;
  };
  receivables: {
    /** Every bucket, in order, with its open instalments, customers and open amount. */
    buckets: Record<AgingBucket, OpenTruth & { customers: number }>;
    /** Per customer with something open: the total and the open amount per bucket. */
    byCustomer: Record<string, OpenTruth & { buckets: Record<AgingBucket, string> }>;
  };
  stock: {
    byDepot: Record<string, { products: number; onHand: string; reserved: string; onOrder: string }>;
    /** sha256 of the sorted lines `depot|product|on_hand|reserved|on_order` (quantities with 3 decimals). */
    positionsDigest: string;
    positions: number;
  };
  /** Per customer that ever ordered: orders, those cancelled as of the date, and order versions exported. */
  ordersByCustomer: Record<string, { orders: number; cancelled: number; versions: number }>;
  /** Per customer still in the customer file with at least two distinct order dates (cancelled orders left out). */
  reorder: Record<string, { orderDates: number; intervals: number; lastOrderDate: string; medianIntervalDays: number; nextExpectedOrder: string; daysUntilNext: number }>;
  /** Payments per payment date: count and amount. */
  paymentsByDate: Record<string, { payments: number; amount: string }>;
}

interface Money {
  invoices: number;
  creditNotes: number;
  invoiced: number;
  credited: number;
}

const cents = (n: number) => formatTotal(n, 2);
const thousandths = (n: number) => formatTotal(n, 3);

function addRevenue(map: Map<string, Money>, key: string, type: 'FACTURE' | 'AVOIR', amountCents: number, newDocument: boolean): void {
  const m = map.get(key) ?? { invoices: 0, creditNotes: 0, invoiced: 0, credited: 0 };
  if (type === 'FACTURE') {
    m.invoiced += amountCents;
    if (newDocument) m.invoices++;
  } else {
    // A credit note reduces revenue once, whatever the sign it is carried with.
    m.credited -= Math.abs(amountCents);
    if (newDocument) m.creditNotes++;
  }
  map.set(key, m);
}

function revenueRecord(map: Map<string, Money>): Record<string, RevenueTruth> {
  return Object.fromEntries(
    [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, m]) => [k, { invoices: m.invoices, creditNotes: m.creditNotes, invoiced: cents(m.invoiced), credited: cents(m.credited), net: cents(m.invoiced + m.credited) }]),
  );
}

/** The median of a non-empty list of numbers (the mean of the two middle ones for an even count). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function bucketOf(daysPastDue: number): AgingBucket {
  if (daysPastDue < 0) return 'not due';
  if (daysPastDue <= 30) return '0-30';
  if (daysPastDue <= 60) return '31-60';
  if (daysPastDue <= 90) return '61-90';
  return '90+';
}

/**
 * Follows the simulated company day by day and writes each day's report truth. `observe`
 * runs after the day's files are written; it only reads the world.
 */
export class ReportTruthRecorder {
  private readonly byCustomer = new Map<string, Money>();
  private readonly byBrand = new Map<string, Money>();
  private readonly byRep = new Map<string, Money>();
  private readonly netByDate = new Map<string, number>();
  /** Every order ever seen, with its latest status. */
  private readonly orders = new Map<string, { customer: string; date: string; status: string; rep: string | null; versions: number }>();
  /** The last rep each customer account had in the customer file. */
  private readonly accountRep = new Map<string, string | null>();
  private readonly brandOf = new Map<string, string>();
  private readonly paymentsByDate = new Map<string, { payments: number; amount: number }>();

  /** Records the day `date` of `world` (after `world.step` and the day's files) and returns its truth. */
  observe(world: World, date: string): ReportTruth {
    const { reference, sales } = world;
    for (const product of reference.products) this.brandOf.set(product.code, product.brand);
    for (const customer of reference.customers.values()) this.accountRep.set(customer.code, customer.repCode);

    for (const { order } of sales.todaysOrders()) {
      const known = this.orders.get(order.no);
      this.orders.set(order.no, { customer: order.customer, date: order.date, status: order.status, rep: order.rep, versions: (known?.versions ?? 0) + 1 });
    }

    for (const invoice of sales.todaysInvoices()) {
      // The rep of the order invoiced; without an order, the rep of the customer's account.
      const order = invoice.orderNo === null ? undefined : this.orders.get(invoice.orderNo);
      const rep = (order ? order.rep : this.accountRep.get(invoice.customer)) ?? '';
      const brandsSeen = new Set<string>();
      for (const [i, line] of invoice.lines.entries()) {
        const brand = this.brandOf.get(line.productCode);
        if (brand === undefined) throw new Error(`report truth: invoice ${invoice.no} line ${i + 1}: unknown product ${line.productCode}`);
        addRevenue(this.byCustomer, invoice.customer, invoice.type, line.amountCents, i === 0);
        addRevenue(this.byRep, rep, invoice.type, line.amountCents, i === 0);
        addRevenue(this.byBrand, brand, invoice.type, line.amountCents, !brandsSeen.has(brand));
        brandsSeen.add(brand);
        const signed = invoice.type === 'AVOIR' ? -Math.abs(line.amountCents) : line.amountCents;
        this.netByDate.set(invoice.date, (this.netByDate.get(invoice.date) ?? 0) + signed);
      }
    }

    for (const payment of sales.todaysPayments()) {
      const [, , , paymentDate, amount] = payment as [string, string, string | null, string, number, string];
      const day = this.paymentsByDate.get(paymentDate) ?? { payments: 0, amount: 0 };
      this.paymentsByDate.set(paymentDate, { payments: day.payments + 1, amount: day.amount + amount });
    }

    return {
      businessDate: date,
      revenue: {
        byCustomer: revenueRecord(this.byCustomer),
        byBrand: revenueRecord(this.byBrand),
        byRep: revenueRecord(this.byRep),
        netByInvoiceDate: Object.fromEntries([...this.netByDate].sort(([a], [b]) => (a < b ? -1 : 1)).map(([d, n]) => [d, cents(n)])),
      },
      receivables: this.receivables(world, date),
      stock: this.stock(world),
      ordersByCustomer: this.ordersByCustomer(),
      reorder: this.reorder(world, date),
      paymentsByDate: Object.fromEntries([...this.paymentsByDate].sort(([a], [b]) => (a < b ? -1 : 1)).map(([d, p]) => [d, { payments: p.payments, amount: cents(p.amount) }])),
    };
  }

  private receivables(world: World, date: string): ReportTruth['receivables'] {
    const buckets = new Map(agingBuckets.map((b) => [b, { instalments: 0, cents: 0, customers: new Set<string>() }]));
    const byCustomer = new Map<string, { instalments: number; cents: number; buckets: Map<AgingBucket, number> }>();
    for (const instalment of world.sales.openInstalments()) {
      if (instalment.openCents <= 0) continue;
      const bucket = bucketOf(daysBetween(instalment.dueDate, date));
      const b = buckets.get(bucket)!;
      b.instalments++;
      b.cents += instalment.openCents;
      b.customers.add(instalment.customer);
      const c = byCustomer.get(instalment.customer) ?? { instalments: 0, cents: 0, buckets: new Map(agingBuckets.map((k) => [k, 0])) };
      c.instalments++;
      c.cents += instalment.openCents;
      c.buckets.set(bucket, c.buckets.get(bucket)! + instalment.openCents);
      byCustomer.set(instalment.customer, c);
    }
    return {
      buckets: Object.fromEntries([...buckets].map(([k, b]) => [k, { instalments: b.instalments, customers: b.customers.size, amountOpen: cents(b.cents) }])) as ReportTruth['receivables']['buckets'],
      byCustomer: Object.fromEntries(
        [...byCustomer]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([code, c]) => [code, { instalments: c.instalments, amountOpen: cents(c.cents), buckets: Object.fromEntries([...c.buckets].map(([k, v]) => [k, cents(v)])) as Record<AgingBucket, string> }]),
      ),
    };
  }

  private stock(world: World): ReportTruth['stock'] {
    const byDepot = new Map<string, { products: number; onHand: number; reserved: number; onOrder: number }>();
    const lines: string[] = [];
    for (const p of world.stock.positions(world.reference.products)) {
      const d = byDepot.get(p.depot) ?? { products: 0, onHand: 0, reserved: 0, onOrder: 0 };
      d.products++;
      d.onHand += p.onHand;
      d.reserved += p.reserved;
      d.onOrder += p.onOrder;
      byDepot.set(p.depot, d);
      lines.push(`${p.depot}|${p.product}|${thousandths(p.onHand)}|${thousandths(p.reserved)}|${thousandths(p.onOrder)}`);
    }
    lines.sort();
    return {
      byDepot: Object.fromEntries([...byDepot].map(([depot, d]) => [depot, { products: d.products, onHand: thousandths(d.onHand), reserved: thousandths(d.reserved), onOrder: thousandths(d.onOrder) }])),
      positionsDigest: createHash('sha256').update(lines.join('\n')).digest('hex'),
      positions: lines.length,
    };
  }

  private ordersByCustomer(): ReportTruth['ordersByCustomer'] {
    const out = new Map<string, { orders: number; cancelled: number; versions: number }>();
    for (const order of this.orders.values()) {
      const c = out.get(order.customer) ?? { orders: 0, cancelled: 0, versions: 0 };
      c.orders++;
      if (order.status === 'ANNULEE') c.cancelled++;
      c.versions += order.versions;
      out.set(order.customer, c);
    }
    return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /**
   * The reorder forecast of docs/reports.md: over the customer's last ten distinct order
   * dates (orders not cancelled), the median gap in days; next expected = last date + the
   * median rounded half up. Customers no longer in the customer file are left out.
   */
  private reorder(world: World, date: string): ReportTruth['reorder'] {
    const dates = new Map<string, Set<string>>();
    for (const order of this.orders.values()) {
      if (order.status === 'ANNULEE') continue;
      const set = dates.get(order.customer) ?? new Set<string>();
      set.add(order.date);
      dates.set(order.customer, set);
    }
    const out: ReportTruth['reorder'] = {};
    for (const [customer, set] of [...dates].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!world.reference.customers.has(customer) || set.size < 2) continue;
      const recent = [...set].sort().slice(-reorderWindowDates);
      const gaps = recent.slice(1).map((d, i) => daysBetween(recent[i]!, d));
      const m = median(gaps);
      const last = recent.at(-1)!;
      const next = addDays(last, Math.floor(m + 0.5));
      out[customer] = { orderDates: set.size, intervals: gaps.length, lastOrderDate: last, medianIntervalDays: m, nextExpectedOrder: next, daysUntilNext: daysBetween(date, next) };
    }
    return out;
  }
}

/** Where the report truth of a business date is written. */
export function reportTruthPath(outDir: string, date: string): string {
  return join(outDir, '.truth', 'reports', `${date}.json`);
}

/** Writes one day's report truth (compact JSON). */
export async function writeReportTruth(outDir: string, truth: ReportTruth): Promise<void> {
  const path = reportTruthPath(outDir, truth.businessDate);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(truth)}\n`);
}

/** The report truth of one business date written by generateExports. */
export async function readReportTruth(outDir: string, date: string): Promise<ReportTruth> {
  return JSON.parse(await readFile(reportTruthPath(outDir, date), 'utf8')) as ReportTruth;
}
