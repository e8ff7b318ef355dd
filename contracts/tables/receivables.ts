import { date, decimal, integer, text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Receivables: every open instalment every night; a settled instalment leaves the file (tombstone). */
export const receivables: TableContract = {
  table: 'receivables',
  description: 'Open receivables per invoice instalment: customer, due date, amount due and amount still open.',
  filePattern: 'ECHEANCES_{yyyymmdd}.csv',
  mode: 'full',
  key: ['invoice_no', 'due_seq'],
  columns: [
    text('NUM_FACTURE', 'invoice_no', 12, 'Invoice'),
    integer('NUM_ECHEANCE', 'due_seq', 'Instalment number', { min: 1 }),
    text('CODE_CLIENT', 'customer_code', 12, 'Customer'),
    date('DATE_ECHEANCE', 'due_date', 'Due date'),
    decimal('MONTANT_DU', 'amount_due', 2, 'Amount of the instalment'),
    decimal('MONTANT_RESTANT', 'amount_open', 2, 'Amount still unpaid'),
  ],
  controlTotals: ['amount_due', 'amount_open'],
  minRowRatio: 0.5,
};
