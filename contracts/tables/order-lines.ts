import { decimal, integer, text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Order lines: the lines of the orders in the day's orders file. */
export const orderLines: TableContract = {
  table: 'order_lines',
  description: 'Order lines: product, quantity, unit price, discount and line total excluding VAT.',
  filePattern: 'LIGNES_COMMANDE_{yyyymmdd}.csv',
  mode: 'delta',
  key: ['order_no', 'line_no'],
  columns: [
    text('NUM_COMMANDE', 'order_no', 12, 'Order number'),
    integer('NUM_LIGNE', 'line_no', 'Line number within the order', { min: 1 }),
    text('CODE_ARTICLE', 'product_code', 20, 'Product'),
    decimal('QUANTITE', 'quantity', 3, 'Quantity ordered', { min: 0 }),
    decimal('PRIX_UNITAIRE', 'unit_price', 2, 'Unit price excluding VAT', { min: 0 }),
    decimal('REMISE_PCT', 'discount_pct', 2, 'Discount in percent', { min: 0 }),
    decimal('MONTANT_LIGNE', 'line_total', 2, 'Line total excluding VAT, after discount', { min: 0 }),
  ],
  controlTotals: ['quantity', 'line_total'],
};
