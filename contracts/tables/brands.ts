import { text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Brands: a short reference list. */
export const brands: TableContract = {
  table: 'brands',
  description: 'Product brands.',
  filePattern: 'MARQUES_{yyyymmdd}.csv',
  mode: 'full',
  key: ['brand_code'],
  columns: [text('CODE_MARQUE', 'brand_code', 10, 'Brand code'), text('NOM', 'name', 80, 'Brand name')],
  controlTotals: [],
  minRowRatio: 0.5,
};
