import { addDays, daysBetween, endOfMonth } from './calendar.ts';
import type { CsvValue } from './csv.ts';
import type { Rng } from './random.ts';
import type { Customer, OpenBusiness, Product, Reference } from './reference.ts';
import type { Stock } from './stock.ts';
import type { GeneratorEvent } from './truth.ts';

/**
 * The transactional side: orders and their lines, their life (SAISIE → VALIDEE →
 * EXPEDIEE → FACTUREE, or ANNULEE), invoices and credit notes with their VAT and
 * instalments, payments and the open receivables. Amounts are integers: cents for money,
 * thousandths for quantities, basis points for rates.
 */

interface OrderLine {
  product: Product;
  qty: number;
  priceCents: number;
  discountBp: number;
  totalCents: number;
}

interface Order {
  no: string;
  customer: string;
  rep: string | null;
  depot: string;
  date: string;
  status: 'SAISIE' | 'VALIDEE' | 'EXPEDIEE' | 'FACTUREE' | 'ANNULEE';
  totalCents: number;
  lines: OrderLine[];
  createdDay: number;
}

interface Instalment {
  invoiceNo: string;
  seq: number;
  customer: string;
  dueDate: string;
  dueCents: number;
  openCents: number;
  cash: boolean;
}

interface InvoiceLine {
  productCode: string;
  qty: number;
  amountCents: number;
}

interface Invoice {
  no: string;
  type: 'FACTURE' | 'AVOIR';
  customer: string;
  orderNo: string | null;
  date: string;
  dueDate: string;
  htCents: number;
  vatCents: number;
  lines: InvoiceLine[];
}

/** What a credit note needs of an invoice once its lines are written. */
interface Creditable {
  no: string;
  customer: string;
  orderNo: string | null;
  productCode: string;
  vatBp: number;
  htCents: number;
  instalments: Instalment[];
}

/** round(n / d) half up, for n ≥ 0 and d > 0 integers. */
export function roundDiv(n: number, d: number): number {
  return Math.floor((2 * n + d) / (2 * d));
}

/** A line total: round(qty × price × (1 − discount/100), 2) with qty in thousandths and discount in basis points. */
export function lineTotalCents(qtyMilli: number, priceCents: number, discountBp: number): number {
  return roundDiv(qtyMilli * priceCents * (10_000 - discountBp), 1000 * 10_000);
}

const discounts = [200, 250, 500, 750, 1000, 1500];
const bankMethods = ['VIREMENT', 'VIREMENT', 'VIREMENT', 'LCR', 'LCR', 'CHEQUE', 'CHEQUE', 'CB'];
const cashMethods = ['CB', 'CB', 'ESPECES', 'CHEQUE'];

function quantityFor(rng: Rng, unit: string): number {
  switch (unit) {
    case 'KG':
      return rng.int(10, 500) * 50;
    case 'L':
      return rng.int(2, 40) * 500;
    case 'M':
      return rng.int(1, 60) * 500;
    case 'CT':
      return rng.int(1, 10) * 1000;
    default:
      return rng.int(1, 24) * 1000;
  }
}

export class Sales implements OpenBusiness {
  private readonly rng: Rng;
  private readonly scale: number;
  private readonly ref: Reference;
  private readonly stock: Stock;
  private readonly open = new Map<string, Order>();
  private readonly openOrdersOf = new Map<string, number>();
  private readonly receivables = new Map<string, Instalment>();
  private readonly receivablesOf = new Map<string, number>();
  private creditable: Creditable[] = [];
  private orderSeq = 0;
  private invoiceSeq = 0;
  private creditSeq = 0;
  private paymentSeq = 0;
  /** Today's output. */
  private todayOrders: { order: Order; isNew: boolean }[] = [];
  private todayInvoices: Invoice[] = [];
  private todayPayments: CsvValue[][] = [];
  /** Order lines written so far (all days). */
  orderLinesWritten = 0;

  constructor(rng: Rng, scale: number, ref: Reference, stock: Stock) {
    this.rng = rng;
    this.scale = scale;
    this.ref = ref;
    this.stock = stock;
  }

  openOrders(customerCode: string): number {
    return this.openOrdersOf.get(customerCode) ?? 0;
  }

  openReceivables(customerCode: string): number {
    return this.receivablesOf.get(customerCode) ?? 0;
  }

  /** Invoices issued before the first export and still (partly) open: the first night's opening balance. */
  private openingBalance(from: string): void {
    const rng = this.rng;
    const customers = [...this.ref.customers.values()].filter((c) => c.status !== 'INACTIF');
    const products = this.ref.activeProducts();
    for (let n = Math.max(10, Math.round(250 * this.scale)); n > 0; n--) {
      const customer = rng.pick(customers);
      const date = addDays(from, -rng.int(1, 90));
      const lines: OrderLine[] = [];
      for (let i = rng.int(1, 3); i > 0; i--) lines.push(this.makeLine(customer, rng.pick(products)));
      const invoice = this.invoice(customer, null, date, lines);
      for (const instalment of invoice.instalments) {
        const roll = rng.next();
        if (instalment.dueDate < from && roll < 0.5) this.settle(instalment, instalment.openCents);
        else if (instalment.openCents >= 2 && roll < (instalment.dueDate < from ? 0.7 : 0.1)) this.settle(instalment, rng.int(1, instalment.openCents - 1));
      }
    }
  }

  /** One business day: cancellations and progress of open orders, invoices, credit notes, payments, new orders. */
  day(date: string, dayIndex: number): GeneratorEvent[] {
    const rng = this.rng;
    const events: GeneratorEvent[] = [];
    this.todayOrders = [];
    this.todayInvoices = [];
    this.todayPayments = [];

    if (dayIndex === 0) this.openingBalance(date);
    else {
      const candidates = rng.shuffle([...this.open.values()].filter((o) => o.createdDay < dayIndex && (o.status === 'SAISIE' || o.status === 'VALIDEE')));
      for (const order of candidates.slice(0, Math.max(1, rng.count(0.9 * this.scale)))) {
        events.push({ type: 'order_cancelled', date, order_no: order.no, previous_status: order.status });
        if (order.status === 'VALIDEE') for (const line of order.lines) this.stock.release(order.depot, line.product.index, line.qty);
        order.status = 'ANNULEE';
        this.close(order, false);
      }
      for (const order of this.open.values()) {
        if (order.createdDay === dayIndex) continue;
        if (order.status === 'SAISIE' && rng.chance(0.8)) {
          order.status = 'VALIDEE';
          for (const line of order.lines) this.stock.reserve(order.depot, line.product.index, line.qty);
        } else if (order.status === 'VALIDEE' && rng.chance(0.6)) {
          order.status = 'EXPEDIEE';
          for (const line of order.lines) this.stock.ship(order.depot, line.product.index, line.qty);
        } else if (order.status === 'EXPEDIEE' && rng.chance(0.75)) {
          order.status = 'FACTUREE';
          const customer = this.ref.customers.get(order.customer);
          this.invoice(customer, order.no, date, order.lines, order.customer);
        } else continue;
        if (order.status === 'FACTUREE') this.close(order, false);
        else this.todayOrders.push({ order, isNew: false });
      }
      this.creditNotes(date);
      this.payments(date);
    }
    this.newOrders(date, dayIndex);
    return events;
  }

  private close(order: Order, isNew: boolean): void {
    this.open.delete(order.no);
    this.openOrdersOf.set(order.customer, this.openOrders(order.customer) - 1);
    this.todayOrders.push({ order, isNew });
  }

  private makeLine(customer: Customer, product: Product): OrderLine {
    const rng = this.rng;
    const qty = quantityFor(rng, product.unit);
    const priceCents = this.ref.prices.get(customer.priceList)![product.index]!;
    const discountBp = rng.chance(0.7) ? 0 : rng.pick(discounts);
    return { product, qty, priceCents, discountBp, totalCents: lineTotalCents(qty, priceCents, discountBp) };
  }

  private newOrders(date: string, dayIndex: number): void {
    const rng = this.rng;
    const customers = [...this.ref.customers.values()].filter((c) => c.status === 'ACTIF');
    const products = this.ref.activeProducts();
    if (customers.length === 0 || products.length === 0) return;
    const cumulative: number[] = [];
    let total = 0;
    for (const c of customers) cumulative.push((total += c.weight));
    for (let n = rng.count(60 * this.scale); n > 0; n--) {
      const customer = customers[rng.weighted(cumulative)]!;
      const lines: OrderLine[] = [];
      const seen = new Set<number>();
      for (let i = rng.int(1, 8); i > 0; i--) {
        const product = rng.pick(products);
        if (seen.has(product.index)) continue;
        seen.add(product.index);
        lines.push(this.makeLine(customer, product));
      }
      const order: Order = {
        no: `CO${String(++this.orderSeq).padStart(8, '0')}`,
        customer: customer.code,
        rep: customer.repCode,
        depot: rng.chance(0.9) ? customer.depot : rng.pick(this.ref.depots).code,
        date,
        status: rng.chance(0.3) ? 'SAISIE' : 'VALIDEE',
        totalCents: lines.reduce((sum, l) => sum + l.totalCents, 0),
        lines,
        createdDay: dayIndex,
      };
      if (order.status === 'VALIDEE') for (const line of lines) this.stock.reserve(order.depot, line.product.index, line.qty);
      this.open.set(order.no, order);
      this.openOrdersOf.set(customer.code, this.openOrders(customer.code) + 1);
      this.todayOrders.push({ order, isNew: true });
    }
  }

  /** Issues an invoice (today's file) with its instalments (receivables). */
  private invoice(customer: Customer | undefined, orderNo: string | null, date: string, lines: readonly OrderLine[], customerCode = customer?.code ?? ''): Creditable {
    const terms = customer?.terms ?? '30J';
    const byRate = new Map<number, number>();
    let ht = 0;
    for (const line of lines) {
      ht += line.totalCents;
      byRate.set(line.product.vatBp, (byRate.get(line.product.vatBp) ?? 0) + line.totalCents);
    }
    let vat = 0;
    for (const [bp, base] of byRate) vat += roundDiv(base * bp, 10_000);
    const ttc = ht + vat;
    const no = `FA${String(++this.invoiceSeq).padStart(8, '0')}`;
    const due = terms === 'COMPTANT' ? date : terms === '45JFM' ? endOfMonth(addDays(date, 45)) : addDays(date, terms === '60J' ? 60 : 30);
    const split = terms === '60J' && ttc >= 150_000 ? [Math.floor(ttc / 2), ttc - Math.floor(ttc / 2)] : [ttc];
    const dueDates = split.length === 2 ? [addDays(date, 30), due] : [due];
    const instalments = split.map((amount, i): Instalment => ({ invoiceNo: no, seq: i + 1, customer: customerCode, dueDate: dueDates[i]!, dueCents: amount, openCents: amount, cash: terms === 'COMPTANT' }));
    for (const instalment of instalments) {
      this.receivables.set(`${no}|${instalment.seq}`, instalment);
      this.receivablesOf.set(customerCode, this.openReceivables(customerCode) + 1);
    }
    this.todayInvoices.push({
      no,
      type: 'FACTURE',
      customer: customerCode,
      orderNo,
      date,
      dueDate: due,
      htCents: ht,
      vatCents: vat,
      lines: lines.map((l) => ({ productCode: l.product.code, qty: l.qty, amountCents: l.totalCents })),
    });
    const first = lines[0]!;
    const creditable = { no, customer: customerCode, orderNo, productCode: first.product.code, vatBp: first.product.vatBp, htCents: ht, instalments };
    this.creditable.push(creditable);
    return creditable;
  }

  /** Reduces an instalment's open amount; a settled instalment leaves the receivables. */
  private settle(instalment: Instalment, cents: number): void {
    instalment.openCents -= cents;
    if (instalment.openCents <= 0) {
      this.receivables.delete(`${instalment.invoiceNo}|${instalment.seq}`);
      this.receivablesOf.set(instalment.customer, this.openReceivables(instalment.customer) - 1);
    }
  }

  /** A few credit notes (returns, commercial gestures) imputed on open invoices. */
  private creditNotes(date: string): void {
    const rng = this.rng;
    this.creditable = this.creditable.filter((c) => c.instalments.some((i) => i.openCents > 0));
    for (let n = rng.count(1.2 * this.scale); n > 0 && this.creditable.length > 0; n--) {
      const invoice = rng.pick(this.creditable);
      const ht = Math.max(1, roundDiv(invoice.htCents * rng.int(500, 2500), 10_000));
      const vat = roundDiv(ht * invoice.vatBp, 10_000);
      const openTotal = invoice.instalments.reduce((sum, i) => sum + Math.max(0, i.openCents), 0);
      if (ht + vat > openTotal) continue;
      let left = ht + vat;
      for (const instalment of [...invoice.instalments].reverse()) {
        const take = Math.min(left, instalment.openCents);
        if (take <= 0) continue;
        this.settle(instalment, take);
        left -= take;
      }
      this.todayInvoices.push({
        no: `AV${String(++this.creditSeq).padStart(8, '0')}`,
        type: 'AVOIR',
        customer: invoice.customer,
        orderNo: invoice.orderNo,
        date,
        dueDate: date,
        htCents: -ht,
        vatCents: -vat,
        lines: [{ productCode: invoice.productCode, qty: 1000, amountCents: -ht }],
      });
    }
  }

  /** Payments of the day: around due dates, cash terms at once, some partial. */
  private payments(date: string): void {
    const rng = this.rng;
    for (const instalment of this.receivables.values()) {
      const days = daysBetween(date, instalment.dueDate);
      const p = instalment.cash ? (days <= 0 ? 0.7 : 0.05) : days > 10 ? 0.005 : days >= -5 ? 0.12 : 0.05;
      if (!rng.chance(p)) continue;
      const amount = instalment.openCents > 100 && rng.chance(0.2) ? rng.int(Math.ceil(instalment.openCents * 0.3), Math.floor(instalment.openCents * 0.7)) : instalment.openCents;
      this.todayPayments.push([`RG${String(++this.paymentSeq).padStart(10, '0')}`, instalment.customer, instalment.invoiceNo, date, amount, rng.pick(instalment.cash ? cashMethods : bankMethods)]);
      this.settle(instalment, amount);
    }
  }

  /** Today's orders, new and changed, as the simulation holds them (read-only: for the report truth). */
  todaysOrders(): readonly { readonly order: Readonly<Order>; readonly isNew: boolean }[] {
    return this.todayOrders;
  }

  /** Today's invoices and credit notes (read-only: for the report truth). */
  todaysInvoices(): readonly Readonly<Invoice>[] {
    return this.todayInvoices;
  }

  /** Today's payments: payment id, customer, invoice, date, amount in cents, method (read-only: for the report truth). */
  todaysPayments(): readonly (readonly CsvValue[])[] {
    return this.todayPayments;
  }

  /** The instalments still open tonight (read-only: for the report truth). */
  openInstalments(): Iterable<Readonly<Instalment>> {
    return this.receivables.values();
  }

  orderRows(): CsvValue[][] {
    return this.todayOrders.map(({ order: o }) => [o.no, o.customer, o.rep, o.depot, o.date, o.status, o.totalCents]);
  }

  orderIsNew(): boolean[] {
    return this.todayOrders.map((o) => o.isNew);
  }

  *orderLineRows(): Generator<CsvValue[]> {
    for (const { order, isNew } of this.todayOrders) {
      if (!isNew) continue;
      for (const [i, l] of order.lines.entries()) {
        this.orderLinesWritten++;
        yield [order.no, i + 1, l.product.code, l.qty, l.priceCents, l.discountBp, l.totalCents];
      }
    }
  }

  invoiceRows(): CsvValue[][] {
    return this.todayInvoices.map((i) => [i.no, i.type, i.customer, i.orderNo, i.date, i.dueDate, i.htCents, i.vatCents, i.htCents + i.vatCents]);
  }

  *invoiceLineRows(): Generator<CsvValue[]> {
    for (const invoice of this.todayInvoices) {
      for (const [i, l] of invoice.lines.entries()) yield [invoice.no, i + 1, l.productCode, l.qty, l.amountCents];
    }
  }

  paymentRows(): CsvValue[][] {
    return this.todayPayments;
  }

  *receivableRows(): Generator<CsvValue[]> {
    for (const r of this.receivables.values()) yield [r.invoiceNo, r.seq, r.customer, r.dueDate, r.dueCents, r.openCents];
  }
}
