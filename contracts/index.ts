import { ApplicationFailure } from '@temporalio/common';
import { brands } from './tables/brands.ts';
import { customers } from './tables/customers.ts';
import { depots } from './tables/depots.ts';
import { invoiceLines } from './tables/invoice-lines.ts';
import { invoices } from './tables/invoices.ts';
import { orderLines } from './tables/order-lines.ts';
import { orders } from './tables/orders.ts';
import { payments } from './tables/payments.ts';
import { priceLists } from './tables/price-lists.ts';
import { products } from './tables/products.ts';
import { receivables } from './tables/receivables.ts';
import { reps } from './tables/reps.ts';
import { stock } from './tables/stock.ts';
import type { TableContract } from './types.ts';

/**
 * The default Sodiwin contract (DESIGN §8): the 13 tables of the nightly export, reference
 * tables first. Adding a table is one module under tables/ and one line here.
 */
export const tableContracts: readonly TableContract[] = [
  brands,
  reps,
  depots,
  products,
  customers,
  priceLists,
  orders,
  orderLines,
  invoices,
  invoiceLines,
  payments,
  receivables,
  stock,
];

/** The contract of a table, or a non-retryable UnknownTable failure naming the known ones. */
export function contractFor(table: string): TableContract {
  const contract = tableContracts.find((c) => c.table === table);
  if (!contract) {
    throw ApplicationFailure.create({
      type: 'UnknownTable',
      message: `unknown table "${table}"; the contract has ${tableContracts.map((c) => c.table).join(', ')}`,
      nonRetryable: true,
    });
  }
  return contract;
}
