import { decimal, text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Stock: every depot × product position every night. */
export const stock: TableContract = {
  table: 'stock',
  description: 'Stock per depot and product: on hand, reserved for orders, and on order from suppliers.',
  filePattern: 'STOCKS_{yyyymmdd}.csv',
  mode: 'full',
  key: ['depot_code', 'product_code'],
  columns: [
    text('CODE_DEPOT', 'depot_code', 6, 'Depot'),
    text('CODE_ARTICLE', 'product_code', 20, 'Product'),
    decimal('QTE_STOCK', 'on_hand', 3, 'Quantity on hand (may be negative after a shipping error)'),
    decimal('QTE_RESERVEE', 'reserved', 3, 'Quantity reserved for open orders', { min: 0 }),
    decimal('QTE_COMMANDEE', 'on_order', 3, 'Quantity on order from suppliers', { min: 0 }),
  ],
  controlTotals: ['on_hand', 'reserved', 'on_order'],
  minRowRatio: 0.9,
};
