import { date, decimal, oneOf, text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Document types: an invoice, or a credit note (AVOIR) whose amounts are negative. */
export const invoiceTypes = ['FACTURE', 'AVOIR'] as const;

/** Invoices and credit notes issued that day (or corrected). */
export const invoices: TableContract = {
  table: 'invoices',
  description: 'Invoices and credit notes: customer, order, dates, due date and totals (credit notes negative).',
  filePattern: 'FACTURES_{yyyymmdd}.csv',
  mode: 'delta',
  key: ['invoice_no'],
  columns: [
    text('NUM_FACTURE', 'invoice_no', 12, 'Invoice or credit note number'),
    oneOf('TYPE_PIECE', 'doc_type', invoiceTypes, 'FACTURE or AVOIR'),
    text('CODE_CLIENT', 'customer_code', 12, 'Customer'),
    text('NUM_COMMANDE', 'order_no', 12, 'Order invoiced', { optional: true }),
    date('DATE_FACTURE', 'invoice_date', 'Invoice date'),
    date('DATE_ECHEANCE', 'due_date', 'Due date'),
    decimal('MONTANT_HT', 'total_excl_tax', 2, 'Total excluding VAT'),
    decimal('MONTANT_TVA', 'vat_amount', 2, 'VAT'),
    decimal('MONTANT_TTC', 'total_incl_tax', 2, 'Total including VAT'),
  ],
  controlTotals: ['total_excl_tax', 'total_incl_tax'],
};
