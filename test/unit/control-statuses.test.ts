import { describe, expect, it } from 'vitest';
import { incidentStatuses, loadStatuses, runStatuses } from '../../common/control-statuses.ts';
import { typedControlChecks, typedControlMigration } from '../../history/typed-control.ts';

/** The CHECK list a CREATE TABLE statement gives its status column. */
function checkList(createTable: string): string[] {
  const list = /status TEXT NOT NULL CHECK \(status IN \(([^)]*)\)\)/.exec(createTable)?.[1];
  if (list === undefined) throw new Error(`no status CHECK in ${createTable.slice(0, 60)}`);
  return list.split(', ').map((v) => v.replace(/^'|'$/g, ''));
}

describe('typed control statuses', () => {
  const created = (table: string) => typedControlMigration.statements.find((s) => s.startsWith(`CREATE TABLE ${table}_0005 `))!;

  it('0005 writes each table CHECK from its union, value for value', () => {
    expect(checkList(created('etl_runs'))).toEqual([...runStatuses]);
    expect(checkList(created('etl_loads'))).toEqual([...loadStatuses]);
    expect(checkList(created('etl_incidents'))).toEqual([...incidentStatuses]);
    expect(typedControlChecks).toEqual({ etl_runs: runStatuses, etl_loads: loadStatuses, etl_incidents: incidentStatuses });
  });

  it('each union names every status the released code wrote', () => {
    expect([...loadStatuses].sort()).toEqual(['deferred', 'failed', 'importing', 'published', 'publishing', 'quarantined', 'reverted', 'rewound', 'staged', 'validating', 'verified']);
    expect([...runStatuses].sort()).toEqual(['failed', 'ok', 'partial', 'running']);
    expect([...incidentStatuses].sort()).toEqual(['approved', 'open', 'resolved']);
  });

  it('the views over the rebuilt tables are dropped before and created after, and a guard checks each table', () => {
    const s = typedControlMigration.statements;
    const firstCreateTable = s.findIndex((x) => x.startsWith('CREATE TABLE'));
    const drops = s.filter((x) => x.startsWith('DROP VIEW')).map((x) => x.split(' ').pop());
    expect(drops.sort()).toEqual(['v_recent_failures', 'v_table_freshness', 'v_watermark_lag']);
    expect(s.findIndex((x) => x.startsWith('DROP VIEW'))).toBeLessThan(firstCreateTable);
    expect(s.findLastIndex((x) => x.startsWith('CREATE VIEW'))).toBe(s.length - 1);
    expect(typedControlMigration.guards?.map((g) => g.table)).toEqual(['etl_runs', 'etl_loads', 'etl_incidents']);
  });
});
