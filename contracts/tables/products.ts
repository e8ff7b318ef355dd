import { decimal, oneOf, text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Products: the whole catalogue every night, discontinued products included while Sodiwin lists them. */
export const products: TableContract = {
  table: 'products',
  description: 'The product catalogue: label, brand, family, sales unit, VAT rate, status and EAN barcode.',
  filePattern: 'ARTICLES_{yyyymmdd}.csv',
  mode: 'full',
  key: ['product_code'],
  columns: [
    text('CODE_ARTICLE', 'product_code', 20, 'Sodiwin product code'),
    text('LIBELLE', 'label', 120, 'Product label'),
    text('CODE_MARQUE', 'brand_code', 10, 'Brand'),
    text('FAMILLE', 'family', 40, 'Product family'),
    oneOf('UNITE', 'unit', ['U', 'KG', 'L', 'M', 'CT'], 'Sales unit'),
    decimal('TAUX_TVA', 'vat_rate', 2, 'VAT rate in percent', { min: 0 }),
    oneOf('STATUT', 'status', ['ACTIF', 'ARRETE'], 'ACTIF, or ARRETE once discontinued'),
    text('EAN', 'ean', 13, 'EAN-13 barcode', { optional: true }),
  ],
  controlTotals: [],
  minRowRatio: 0.9,
};
