import { paymentTerms } from '../contracts/tables/customers.ts';
import type { CsvValue } from './csv.ts';
import { brandList, cities, companyName, depotList, ean13, families, productLabel, regions, repPerson, streetAddress } from './french.ts';
import type { Rng } from './random.ts';
import type { GeneratorEvent } from './truth.ts';

/**
 * The reference data of the simulated wholesaler (brands, reps, depots, products,
 * customers, price lists) and how it changes day by day: new customers, price-list and
 * terms changes, blocked and deleted accounts, discontinued and new products, price moves.
 */

export interface Customer {
  code: string;
  name: string;
  address: string | null;
  postalCode: string | null;
  city: string | null;
  repCode: string | null;
  priceList: string;
  terms: string;
  creditLimitCents: number;
  status: 'ACTIF' | 'BLOQUE' | 'INACTIF';
  depot: string;
  /** How much this customer orders relative to the others. */
  weight: number;
  /** Business date the account appeared (its first export). */
  since: string;
}

export interface Product {
  index: number;
  code: string;
  label: string;
  brand: string;
  family: string;
  unit: string;
  vatBp: number;
  status: 'ACTIF' | 'ARRETE';
  ean: string | null;
  since: string;
}

export interface Rep {
  code: string;
  name: string;
  email: string | null;
  region: string;
  depot: string;
}

/** The four price lists and their level relative to the base price, in basis points. */
export const priceListLevels: readonly { code: string; levelBp: number }[] = [
  { code: 'TARIF_A', levelBp: 10_000 },
  { code: 'TARIF_B', levelBp: 9_500 },
  { code: 'TARIF_C', levelBp: 9_000 },
  { code: 'GROSSISTE', levelBp: 8_200 },
];

/** What the reference data needs to know about open business before deleting an account. */
export interface OpenBusiness {
  openOrders(customerCode: string): number;
  openReceivables(customerCode: string): number;
}

export class Reference {
  readonly brands = brandList;
  readonly depots = depotList;
  readonly reps: Rep[] = [];
  readonly products: Product[] = [];
  /** Customers present in the export, in file order. */
  readonly customers = new Map<string, Customer>();
  /** Unit price in cents per price list, indexed by product index. */
  readonly prices = new Map<string, number[]>();
  private readonly rng: Rng;
  private readonly sq: number;
  private nextCustomer = 100_001;
  /** The fewest active products the catalogue is allowed to fall to (90% of the opening range). */
  private readonly rangeFloor: number;
  private discontinued = 0;

  constructor(rng: Rng, scale: number, from: string) {
    this.rng = rng;
    this.sq = Math.sqrt(scale);
    for (const [i, depot] of this.depots.entries()) {
      for (let n = 0; n < (i === 0 ? 3 : i === 1 ? 3 : 2); n++) {
        const person = repPerson(rng);
        this.reps.push({ code: `R${String(this.reps.length + 1).padStart(2, '0')}`, ...person, region: regions[i * 2 + (n % 2)]!, depot: depot.code });
      }
    }
    for (const list of priceListLevels) this.prices.set(list.code, []);
    const productCount = Math.max(30, Math.round(300 * this.sq));
    for (let i = 0; i < productCount; i++) this.addProduct(from);
    this.rangeFloor = Math.round(0.9 * productCount);
    const customerCount = Math.max(20, Math.round(200 * this.sq));
    const tricky = rng.int(0, Math.min(19, customerCount - 1));
    for (let i = 0; i < customerCount; i++) this.addCustomer(from, i === tricky);
  }

  /** Active products, for orders. */
  activeProducts(): Product[] {
    return this.products.filter((p) => p.status === 'ACTIF');
  }

  addProduct(date: string): Product {
    const rng = this.rng;
    const family = rng.pick(families);
    const index = this.products.length;
    const product: Product = {
      index,
      code: `ART${String(10_000 + index).padStart(6, '0')}`,
      label: productLabel(rng, family),
      brand: rng.pick(this.brands).code,
      family: family.name,
      unit: family.unit,
      vatBp: family.vatBp,
      status: 'ACTIF',
      ean: rng.chance(0.9) ? ean13(rng) : null,
      since: date,
    };
    this.products.push(product);
    const base = rng.int(family.priceCents[0], family.priceCents[1]);
    for (const list of priceListLevels) {
      const jitter = 10_000 + rng.int(-150, 150);
      this.prices.get(list.code)!.push(Math.max(1, Math.round((base * list.levelBp * jitter) / 1e8)));
    }
    return product;
  }

  addCustomer(date: string, tricky = false): Customer {
    const rng = this.rng;
    const city = rng.pick(cities);
    const reps = this.reps.filter((r) => r.depot === city.depot);
    const roll = rng.next();
    const status = roll < 0.88 ? 'ACTIF' : roll < 0.92 ? 'BLOQUE' : 'INACTIF';
    const customer: Customer = {
      code: `C${String(this.nextCustomer++).padStart(7, '0')}`,
      name: companyName(rng, tricky),
      address: rng.chance(0.97) ? streetAddress(rng) : null,
      postalCode: rng.chance(0.98) ? city.postalCode : null,
      city: city.name,
      repCode: rng.chance(0.95) ? rng.pick(reps).code : null,
      priceList: rng.pick(priceListLevels).code,
      terms: pickTerms(rng),
      creditLimitCents: rng.int(2, 100) * 50_000,
      status,
      depot: city.depot,
      weight: 0.2 + 5 * rng.next() ** 3,
      since: date,
    };
    this.customers.set(customer.code, customer);
    return customer;
  }

  /**
   * The day's changes to reference data (every day but the first). Every kind of event
   * happens at least once a day, so any run of two days or more shows them all.
   */
  changeDay(date: string, open: OpenBusiness): GeneratorEvent[] {
    const rng = this.rng;
    const sq = this.sq;
    const events: GeneratorEvent[] = [];
    const existing = [...this.customers.values()];

    for (let n = rng.count(2 * sq); n > 0; n--) this.addCustomer(date);

    const priceChanged = new Set<string>();
    const listCandidates = rng.shuffle(existing.filter((c) => c.status !== 'INACTIF'));
    for (const customer of listCandidates.slice(0, Math.max(1, rng.count(1.5 * sq)))) {
      const to = rng.pick(priceListLevels.filter((l) => l.code !== customer.priceList)).code;
      events.push({ type: 'price_list_changed', date, customer_code: customer.code, from: customer.priceList, to });
      customer.priceList = to;
      priceChanged.add(customer.code);
    }

    for (let n = rng.count(2 * sq); n > 0; n--) {
      const customer = rng.pick(existing);
      if (rng.chance(0.5)) customer.terms = pickTerms(rng);
      else customer.creditLimitCents = Math.max(0, customer.creditLimitCents + rng.int(-4, 8) * 50_000);
    }

    for (let n = rng.count(1.5 * sq); n > 0; n--) {
      const customer = rng.pick(existing);
      if (customer.status === 'BLOQUE') customer.status = 'ACTIF';
      else if (customer.status === 'ACTIF') customer.status = rng.chance(0.5) && open.openOrders(customer.code) === 0 ? 'INACTIF' : 'BLOQUE';
    }

    const deletable = existing.filter((c) => !priceChanged.has(c.code) && open.openOrders(c.code) === 0);
    const quiet = deletable.filter((c) => c.status === 'INACTIF' && open.openReceivables(c.code) === 0);
    const pool = rng.shuffle(quiet.length > 0 ? quiet : deletable);
    for (const customer of pool.slice(0, Math.max(1, rng.count(0.7 * sq)))) {
      this.customers.delete(customer.code);
      events.push({ type: 'customer_deleted', date, customer_code: customer.code });
    }

    const listed = rng.shuffle(this.products.filter((p) => p.status === 'ACTIF'));
    for (const product of listed.slice(0, Math.max(1, rng.count(0.8 * sq)))) {
      product.status = 'ARRETE';
      this.discontinued++;
      events.push({ type: 'product_discontinued', date, product_code: product.code });
    }
    for (let n = rng.count(0.5 * sq); n > 0; n--) this.addProduct(date);
    // Sodimo keeps its range: once discontinuations have shrunk it below 90% of the opening
    // catalogue (after weeks, never within a short run), new products are listed to restore it.
    const active = this.products.length - this.discontinued;
    for (let n = this.rangeFloor - active; n > 0; n--) this.addProduct(date);

    for (let n = rng.count(6 * sq); n > 0; n--) {
      const prices = this.prices.get(rng.pick(priceListLevels).code)!;
      const index = rng.int(0, prices.length - 1);
      prices[index] = Math.max(1, Math.round((prices[index]! * (10_000 + rng.int(-300, 800))) / 10_000));
    }
    return events;
  }

  brandRows(): CsvValue[][] {
    return this.brands.map((b) => [b.code, b.name]);
  }

  repRows(): CsvValue[][] {
    return this.reps.map((r) => [r.code, r.name, r.email, r.region]);
  }

  depotRows(): CsvValue[][] {
    return this.depots.map((d) => [d.code, d.name, d.city]);
  }

  productRows(): CsvValue[][] {
    return this.products.map((p) => [p.code, p.label, p.brand, p.family, p.unit, p.vatBp, p.status, p.ean]);
  }

  customerRows(): CsvValue[][] {
    return [...this.customers.values()].map((c) => [c.code, c.name, c.address, c.postalCode, c.city, c.repCode, c.priceList, c.terms, c.creditLimitCents, c.status]);
  }

  /** Price-list rows: every list × every active product. */
  *priceRows(): Generator<CsvValue[]> {
    for (const list of priceListLevels) {
      const prices = this.prices.get(list.code)!;
      for (const product of this.products) if (product.status === 'ACTIF') yield [list.code, product.code, prices[product.index]!, 'EUR'];
    }
  }
}

function pickTerms(rng: Rng): string {
  const roll = rng.next();
  return roll < 0.15 ? paymentTerms[0] : roll < 0.55 ? paymentTerms[1] : roll < 0.8 ? paymentTerms[2] : paymentTerms[3];
}
