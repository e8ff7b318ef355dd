import type { CsvValue } from './csv.ts';
import type { Rng } from './random.ts';
import type { Product } from './reference.ts';

/**
 * Stock per depot and product, in thousandths of a unit: on hand, reserved for validated
 * orders, on order from suppliers. Sales reserve and ship; suppliers deliver; depots
 * transfer to each other; breakage occasionally drives a position negative.
 */
export class Stock {
  private readonly depots: readonly string[];
  private readonly onHand: number[][];
  private readonly reserved: number[][];
  private readonly onOrder: number[][];
  private readonly rng: Rng;
  private readonly sq: number;

  constructor(rng: Rng, depots: readonly string[], scale: number) {
    this.rng = rng;
    this.depots = depots;
    this.sq = Math.sqrt(scale);
    this.onHand = depots.map(() => []);
    this.reserved = depots.map(() => []);
    this.onOrder = depots.map(() => []);
  }

  /** Opens the positions of a new product in every depot. */
  addProduct(product: Product): void {
    const factor = Math.max(1, Math.round(this.sq));
    for (let d = 0; d < this.depots.length; d++) {
      this.onHand[d]![product.index] = this.rng.int(0, 400) * 1000 * factor;
      this.reserved[d]![product.index] = 0;
      this.onOrder[d]![product.index] = this.rng.chance(0.2) ? this.rng.int(20, 200) * 1000 * factor : 0;
    }
  }

  private depotIndex(depot: string): number {
    const d = this.depots.indexOf(depot);
    if (d < 0) throw new Error(`unknown depot ${depot}`);
    return d;
  }

  reserve(depot: string, product: number, qty: number): void {
    this.reserved[this.depotIndex(depot)]![product]! += qty;
  }

  release(depot: string, product: number, qty: number): void {
    const d = this.depotIndex(depot);
    this.reserved[d]![product] = Math.max(0, this.reserved[d]![product]! - qty);
  }

  ship(depot: string, product: number, qty: number): void {
    this.release(depot, product, qty);
    this.onHand[this.depotIndex(depot)]![product]! -= qty;
  }

  /** Deliveries, reorders, transfers and breakage of one day. */
  moveDay(products: readonly Product[]): void {
    const rng = this.rng;
    const factor = Math.max(1, Math.round(this.sq));
    for (let d = 0; d < this.depots.length; d++) {
      const onHand = this.onHand[d]!;
      const onOrder = this.onOrder[d]!;
      const reserved = this.reserved[d]!;
      for (const product of products) {
        if (product.status !== 'ACTIF') continue;
        const p = product.index;
        if (onOrder[p]! > 0 && rng.chance(0.35)) {
          onHand[p]! += onOrder[p]!;
          onOrder[p] = 0;
        } else if (onOrder[p] === 0 && onHand[p]! - reserved[p]! < 40_000 * factor && rng.chance(0.6)) {
          onOrder[p] = rng.int(50, 400) * 1000 * factor;
        }
      }
    }
    const active = products.filter((p) => p.status === 'ACTIF');
    if (active.length === 0) return;
    for (let n = rng.count(4 * this.sq); n > 0; n--) {
      const p = rng.pick(active).index;
      const from = rng.int(0, this.depots.length - 1);
      const to = (from + rng.int(1, this.depots.length - 1)) % this.depots.length;
      const qty = Math.floor(this.onHand[from]![p]! / 4000) * 1000;
      if (qty <= 0) continue;
      this.onHand[from]![p]! -= qty;
      this.onHand[to]![p]! += qty;
    }
    for (let n = rng.count(0.8 * this.sq); n > 0; n--) {
      const p = rng.pick(active).index;
      this.onHand[rng.int(0, this.depots.length - 1)]![p]! -= rng.int(1, 5) * 1000;
    }
  }

  /** Every depot × active product position, in thousandths (read-only: for the report truth). */
  *positions(products: readonly Product[]): Generator<{ depot: string; product: string; onHand: number; reserved: number; onOrder: number }> {
    for (const [d, depot] of this.depots.entries()) {
      for (const product of products) {
        if (product.status !== 'ACTIF') continue;
        yield { depot, product: product.code, onHand: this.onHand[d]![product.index]!, reserved: this.reserved[d]![product.index]!, onOrder: this.onOrder[d]![product.index]! };
      }
    }
  }

  /** Rows: every depot × active product. */
  *rows(products: readonly Product[]): Generator<CsvValue[]> {
    for (const [d, depot] of this.depots.entries()) {
      for (const product of products) {
        if (product.status !== 'ACTIF') continue;
        const p = product.index;
        yield [depot, product.code, this.onHand[d]![p]!, this.reserved[d]![p]!, this.onOrder[d]![p]!];
      }
    }
  }
}
