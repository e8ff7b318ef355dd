import { date, decimal, oneOf, text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Payment methods Sodiwin records. */
export const paymentMethods = ['VIREMENT', 'CHEQUE', 'LCR', 'CB', 'ESPECES'] as const;

/** Payments received that day. */
export const payments: TableContract = {
  table: 'payments',
  description: 'Customer payments: customer, invoice settled, date, amount and method.',
  filePattern: 'REGLEMENTS_{yyyymmdd}.csv',
  mode: 'delta',
  key: ['payment_id'],
  columns: [
    text('ID_REGLEMENT', 'payment_id', 16, 'Payment identifier'),
    text('CODE_CLIENT', 'customer_code', 12, 'Customer'),
    text('NUM_FACTURE', 'invoice_no', 12, 'Invoice the payment settles', { optional: true }),
    date('DATE_REGLEMENT', 'payment_date', 'Payment date'),
    decimal('MONTANT', 'amount', 2, 'Amount received', { min: 0 }),
    oneOf('MODE_REGLEMENT', 'method', paymentMethods, 'Payment method'),
  ],
  controlTotals: ['amount'],
};
