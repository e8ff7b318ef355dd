import type { CsvValue } from './csv.ts';
import { Rng } from './random.ts';
import { Reference } from './reference.ts';
import { Sales } from './sales.ts';
import { Stock } from './stock.ts';
import type { GeneratorEvent } from './truth.ts';

/** The rows of one table for the day, and for a delta table whether each row is new. */
export interface TableRows {
  rows: Iterable<CsvValue[]>;
  /** Delta tables only: false for a changed row already exported on an earlier day. */
  isNew?: (index: number) => boolean;
}

/**
 * The simulated company, day by day: reference data, stock and sales, each with its own
 * random stream derived from the seed. `step` moves one business day; `rows` gives what
 * that day's exports hold, table by table (warehouse table names).
 */
export class World {
  readonly reference: Reference;
  readonly stock: Stock;
  readonly sales: Sales;
  private knownProducts = 0;

  constructor(options: { seed: number; scale: number; from: string }) {
    const root = new Rng(options.seed);
    const refRng = root.fork();
    const stockRng = root.fork();
    const salesRng = root.fork();
    this.reference = new Reference(refRng, options.scale, options.from);
    this.stock = new Stock(stockRng, this.reference.depots.map((d) => d.code), options.scale);
    this.sales = new Sales(salesRng, options.scale, this.reference, this.stock);
    this.syncStock();
  }

  /** Opens stock positions for products added since the last call. */
  private syncStock(): void {
    for (; this.knownProducts < this.reference.products.length; this.knownProducts++) this.stock.addProduct(this.reference.products[this.knownProducts]!);
  }

  /** Moves the company through business day `dayIndex` (0 = the first export); returns its events. */
  step(date: string, dayIndex: number): GeneratorEvent[] {
    const events: GeneratorEvent[] = [];
    if (dayIndex > 0) {
      events.push(...this.reference.changeDay(date, this.sales));
      this.syncStock();
      this.stock.moveDay(this.reference.products);
    }
    events.push(...this.sales.day(date, dayIndex));
    return events;
  }

  /** The day's rows of one table. */
  rows(table: string): TableRows {
    const { reference: ref, sales } = this;
    switch (table) {
      case 'brands':
        return { rows: ref.brandRows() };
      case 'reps':
        return { rows: ref.repRows() };
      case 'depots':
        return { rows: ref.depotRows() };
      case 'products':
        return { rows: ref.productRows() };
      case 'customers':
        return { rows: ref.customerRows() };
      case 'price_lists':
        return { rows: ref.priceRows() };
      case 'orders': {
        const isNew = sales.orderIsNew();
        return { rows: sales.orderRows(), isNew: (i) => isNew[i]! };
      }
      case 'order_lines':
        return { rows: sales.orderLineRows() };
      case 'invoices':
        return { rows: sales.invoiceRows() };
      case 'invoice_lines':
        return { rows: sales.invoiceLineRows() };
      case 'payments':
        return { rows: sales.paymentRows() };
      case 'receivables':
        return { rows: sales.receivableRows() };
      case 'stock':
        return { rows: this.stock.rows(ref.products) };
      default:
        throw new Error(`the generator does not simulate table ${table}`);
    }
  }
}
