import { date, decimal, oneOf, text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Order statuses in their life order; ANNULEE (cancelled) is a new version, never a delete. */
export const orderStatuses = ['SAISIE', 'VALIDEE', 'EXPEDIEE', 'FACTUREE', 'ANNULEE'] as const;

/** Orders: new and changed orders of the day. */
export const orders: TableContract = {
  table: 'orders',
  description: 'Customer orders: customer, rep, depot, date, status and total excluding VAT.',
  filePattern: 'COMMANDES_{yyyymmdd}.csv',
  mode: 'delta',
  key: ['order_no'],
  columns: [
    text('NUM_COMMANDE', 'order_no', 12, 'Order number'),
    text('CODE_CLIENT', 'customer_code', 12, 'Customer'),
    text('CODE_REPRESENTANT', 'rep_code', 8, 'Sales rep', { optional: true }),
    text('CODE_DEPOT', 'depot_code', 6, 'Shipping depot'),
    date('DATE_COMMANDE', 'order_date', 'Order date'),
    oneOf('STATUT', 'status', orderStatuses, 'Order status'),
    decimal('MONTANT_HT', 'total_excl_tax', 2, 'Order total excluding VAT', { min: 0 }),
  ],
  controlTotals: ['total_excl_tax'],
};
