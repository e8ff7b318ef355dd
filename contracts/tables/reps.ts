import { text } from '../columns.ts';
import type { TableContract } from '../types.ts';

/** Sales reps. */
export const reps: TableContract = {
  table: 'reps',
  description: 'Sales representatives with their e-mail and region.',
  filePattern: 'REPRESENTANTS_{yyyymmdd}.csv',
  mode: 'full',
  key: ['rep_code'],
  columns: [
    text('CODE_REPRESENTANT', 'rep_code', 8, 'Rep code'),
    text('NOM', 'name', 80, 'Full name'),
    text('EMAIL', 'email', 120, 'E-mail address', { optional: true }),
    text('REGION', 'region', 40, 'Sales region'),
  ],
  controlTotals: [],
  minRowRatio: 0.5,
};
