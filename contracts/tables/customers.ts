import { decimal, oneOf, text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Sodiwin's payment terms codes. */
export const paymentTerms = ['COMPTANT', '30J', '45JFM', '60J'] as const;

/** Customer account statuses; a blocked account cannot order. */
export const customerStatuses = ['ACTIF', 'BLOQUE', 'INACTIF'] as const;

/** Customers: the whole list every night; a customer who vanishes gets a tombstone. */
export const customers: TableContract = {
  table: 'customers',
  description: 'Customer accounts with their address, sales rep, price list, payment terms and credit limit.',
  filePattern: 'CLIENTS_{yyyymmdd}.csv',
  mode: 'full',
  key: ['customer_code'],
  columns: [
    text('CODE_CLIENT', 'customer_code', 12, 'Sodiwin customer code'),
    text('RAISON_SOCIALE', 'name', 100, 'Company name'),
    text('ADRESSE', 'address', 200, 'Street address', { optional: true }),
    text('CODE_POSTAL', 'postal_code', 10, 'Postal code', { optional: true }),
    text('VILLE', 'city', 60, 'City', { optional: true }),
    text('CODE_REPRESENTANT', 'rep_code', 8, 'Sales rep in charge of the account', { optional: true }),
    text('CODE_TARIF', 'price_list_code', 12, 'Price list the customer buys at'),
    oneOf('CONDITIONS_PAIEMENT', 'payment_terms', paymentTerms, 'Payment terms'),
    decimal('PLAFOND_CREDIT', 'credit_limit', 2, 'Credit limit in euros', { min: 0 }),
    oneOf('STATUT', 'status', customerStatuses, 'Account status'),
  ],
  controlTotals: ['credit_limit'],
  minRowRatio: 0.9,
};
