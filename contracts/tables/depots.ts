import { text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Depots (warehouses where stock is held). */
export const depots: TableContract = {
  table: 'depots',
  description: 'Depots that hold stock and ship orders.',
  filePattern: 'DEPOTS_{yyyymmdd}.csv',
  mode: 'full',
  key: ['depot_code'],
  columns: [text('CODE_DEPOT', 'depot_code', 6, 'Depot code'), text('NOM', 'name', 80, 'Depot name'), text('VILLE', 'city', 60, 'City')],
  controlTotals: [],
  minRowRatio: 0.5,
};
