import { decimal, integer, text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Invoice lines: the lines of the invoices in the day's invoices file. */
export const invoiceLines: TableContract = {
  table: 'invoice_lines',
  description: 'Invoice and credit note lines: product, quantity and amount excluding VAT (negative on credit notes).',
  filePattern: 'LIGNES_FACTURE_{yyyymmdd}.csv',
  mode: 'delta',
  key: ['invoice_no', 'line_no'],
  columns: [
    text('NUM_FACTURE', 'invoice_no', 12, 'Invoice or credit note number'),
    integer('NUM_LIGNE', 'line_no', 'Line number within the document', { min: 1 }),
    text('CODE_ARTICLE', 'product_code', 20, 'Product'),
    decimal('QUANTITE', 'quantity', 3, 'Quantity invoiced', { min: 0 }),
    decimal('MONTANT_HT', 'amount', 2, 'Amount excluding VAT'),
  ],
  controlTotals: ['quantity', 'amount'],
};
