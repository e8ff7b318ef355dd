import { describe, expect, it } from 'vitest';
import { formatNightProgress, mergedStep } from '../../client/night-progress.ts';
import { nightDetails } from '../../workflows/night-progress.ts';
import { exportFileOf, fetchSummary, loadTableSummary } from '../../workflows/summaries.ts';
import type { NightProgress } from '../../workflows/messages.ts';

const waiting: NightProgress = {
  businessDate: '2026-03-05',
  phase: 'loading',
  tables: [
    { table: 'customers', stage: 'loaded', rows: 200 },
    { table: 'products', stage: 'stage', rows: 812 },
    { table: 'orders', stage: 'fetch', waitingFor: 'COMMANDES_20260305.csv in the inbox (until 2026-03-06 06:00 Europe/Paris)' },
    { table: 'stock', stage: 'queued', waitingFor: 'its turn (tables load a few at a time)' },
  ],
};

describe('what the Web UI and the CLI say of a night', () => {
  it("names the Sodiwin file and the deadline in a fetch's summary; a table no contract names is said as such", () => {
    expect(exportFileOf('orders', '2026-03-05')).toBe('COMMANDES_20260305.csv');
    expect(fetchSummary('orders', '2026-03-05', '2026-03-06 06:00 Europe/Paris')).toBe('fetch COMMANDES_20260305.csv — waiting until 2026-03-06 06:00 Europe/Paris at the latest');
    expect(fetchSummary('orders', '2026-03-05')).toBe('fetch COMMANDES_20260305.csv from the inbox');
    expect(loadTableSummary('nosuch', '2026-03-05')).toBe('load nosuch 2026-03-05 from the nosuch export of 2026-03-05');
    expect(loadTableSummary('stock', '2026-03-05', true)).toBe('load stock 2026-03-05 from STOCKS_20260305.csv (archived)');
  });

  it("sums the night up in the workflow's current details: tables done, then each busy one and what it waits for", () => {
    expect(nightDetails(waiting)).toBe(
      [
        '2026-03-05: 1 of 4 tables done (loading)',
        'products: stage',
        'orders: fetch, waiting for COMMANDES_20260305.csv in the inbox (until 2026-03-06 06:00 Europe/Paris)',
      ].join('\n'),
    );
    const loading: NightProgress = { businessDate: '2026-03-05', phase: 'loading', tables: [{ table: 'orders', stage: 'loading', workflowId: 'nightly-2026-03-05-orders-2026-03-05' }] };
    expect(nightDetails(loading)).toBe('2026-03-05: 0 of 1 tables done (loading)\norders: loading in nightly-2026-03-05-orders-2026-03-05');
    expect(nightDetails({ businessDate: '2026-03-05', phase: 'waiting for the warehouse lease', waitingFor: 'warehouse lease (held by rollback-x)', tables: [] })).toBe(
      '2026-03-05: 0 of 0 tables done (waiting for the warehouse lease: warehouse lease (held by rollback-x))',
    );
  });

  it('prints the progress as a table, one row per table with its stage, rows and what it waits for', () => {
    const lines = formatNightProgress(waiting).split('\n');
    expect(lines[0]).toBe('night 2026-03-05: loading');
    expect(lines[1]).toMatch(/^table +stage +rows +waiting for \/ detail$/);
    expect(lines.slice(3).map((l) => l.split(/ {2,}/))).toEqual([
      ['customers', 'loaded', '200'],
      ['products', 'stage', '812'],
      ['orders', 'fetch', 'COMMANDES_20260305.csv in the inbox (until 2026-03-06 06:00 Europe/Paris)'],
      ['stock', 'queued', 'its turn (tables load a few at a time)'],
    ]);
  });

  it("takes a loading table's step from its child's answer only when it is a step it can give", () => {
    const line = { table: 'orders', stage: 'loading' as const, workflowId: 'nightly-2026-03-05-orders-2026-03-05' };
    expect(mergedStep(line, { table: 'orders', stage: 'stage', rows: 812 })).toEqual({ table: 'orders', stage: 'stage', rows: 812, workflowId: line.workflowId });
    expect(mergedStep(line, { table: 'orders', stage: 'fetch', waitingFor: 'COMMANDES_20260305.csv in the inbox' })).toEqual({ table: 'orders', stage: 'fetch', waitingFor: 'COMMANDES_20260305.csv in the inbox', workflowId: line.workflowId });
    for (const hostile of [undefined, null, 'verify', [], { stage: 'loaded' }, { stage: 'queued' }, { stage: 'stage', rows: -1 }, { stage: 'stage', rows: 1.5 }, { stage: 'stage', rows: '9' }, { stage: 'fetch', waitingFor: 42 }]) {
      expect(mergedStep(line, hostile)).toBe(line);
    }
  });
});
