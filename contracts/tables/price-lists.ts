import { decimal, oneOf, text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Price lists: one unit price per price list and product. */
export const priceLists: TableContract = {
  table: 'price_lists',
  description: 'Unit prices excluding VAT per price list and product.',
  filePattern: 'TARIFS_{yyyymmdd}.csv',
  mode: 'full',
  key: ['price_list_code', 'product_code'],
  columns: [
    text('CODE_TARIF', 'price_list_code', 12, 'Price list'),
    text('CODE_ARTICLE', 'product_code', 20, 'Product'),
    decimal('PRIX_UNITAIRE', 'unit_price', 2, 'Unit price excluding VAT', { min: 0 }),
    oneOf('DEVISE', 'currency', ['EUR'], 'Currency'),
  ],
  controlTotals: ['unit_price'],
  minRowRatio: 0.9,
};
