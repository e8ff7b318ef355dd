/**
 * The parity gate's named reconciliation queries: each answers, on D1, the same question
 * as one of Sodiwin's screens, with the screen's export columns as aliases, so the two
 * can be compared key by key. Pure data: adding a query is adding an entry. A sum is the
 * exact integer sum of a decimal's stored units (history/stored-columns.ts).
 */

import { unitsToDecimalSql } from './stored-columns.ts';

/** One column of Sodiwin's screen export, as D1's query names it too. */
export interface ScreenColumn {
  /** The header in Sodiwin's screen export (and the alias in the SQL). */
  header: string;
  kind: 'text' | 'integer' | 'decimal';
  /** Decimals compared, for `decimal`. */
  scale?: number;
}

/** A reconciliation query. */
export interface ParityQuery {
  name: string;
  /** The warehouse table the sign-off is for. */
  table: string;
  /** The Sodiwin screen it mirrors, for the operator. */
  screen: string;
  /** The screen's columns in order; the first `keyColumns` identify a row. */
  columns: readonly ScreenColumn[];
  keyColumns: number;
  sql: string;
}

export const parityQueries: readonly ParityQuery[] = [
  {
    name: 'customer-balance',
    table: 'receivables',
    screen: 'Balance clients (open instalments per customer)',
    columns: [
      { header: 'CODE_CLIENT', kind: 'text' },
      { header: 'NB_ECHEANCES', kind: 'integer' },
      { header: 'SOLDE', kind: 'decimal', scale: 2 },
    ],
    keyColumns: 1,
    // The exact integer sum of the units, divided once: client/parity.ts reads it back at scale 2 exactly.
    sql: `SELECT customer_code AS "CODE_CLIENT", count(*) AS "NB_ECHEANCES", ${unitsToDecimalSql('SUM(amount_open_units)', 2)} AS "SOLDE"
FROM receivables_current GROUP BY customer_code`,
  },
  {
    name: 'stock-by-depot',
    table: 'stock',
    screen: 'État du stock (per depot and product)',
    columns: [
      { header: 'CODE_DEPOT', kind: 'text' },
      { header: 'CODE_ARTICLE', kind: 'text' },
      { header: 'QTE_STOCK', kind: 'decimal', scale: 3 },
      { header: 'QTE_RESERVEE', kind: 'decimal', scale: 3 },
    ],
    keyColumns: 2,
    sql: `SELECT depot_code AS "CODE_DEPOT", product_code AS "CODE_ARTICLE", on_hand AS "QTE_STOCK", reserved AS "QTE_RESERVEE" FROM stock_current`,
  },
  {
    name: 'customer-list',
    table: 'customers',
    screen: 'Fichier clients (code, name, price list)',
    columns: [
      { header: 'CODE_CLIENT', kind: 'text' },
      { header: 'RAISON_SOCIALE', kind: 'text' },
      { header: 'CODE_TARIF', kind: 'text' },
    ],
    keyColumns: 1,
    sql: `SELECT customer_code AS "CODE_CLIENT", name AS "RAISON_SOCIALE", price_list_code AS "CODE_TARIF" FROM customers_current`,
  },
];

/** The query of that name, or undefined. */
export function parityQueryFor(name: string): ParityQuery | undefined {
  return parityQueries.find((q) => q.name === name);
}
