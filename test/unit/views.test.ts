import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { tableContracts } from '../../contracts/index.ts';
import { historyDdl } from '../../history/ddl.ts';
import { migrations } from '../../history/migrations.ts';
import { normaliseViewSql, planViews, warehouseViews } from '../../history/views.ts';

describe('the view planner', () => {
  const views = [
    { name: 'v_b', sql: 'SELECT a FROM v_a' },
    { name: 'v_a', sql: 'SELECT x AS a FROM t' },
    { name: 'v_c', sql: 'SELECT 1 AS one' },
  ];

  it('compares SELECTs, not layout or the CREATE head', () => {
    expect(normaliseViewSql('CREATE VIEW IF NOT EXISTS "v_a"   AS\n  SELECT x AS a\n FROM t')).toBe('SELECT x AS a FROM t');
    expect(planViews(views, views.map((v) => ({ name: v.name, sql: `CREATE VIEW ${v.name} AS\n${v.sql.replace(' ', '   ')}` })))).toEqual({ created: [], replaced: [], statements: [] });
  });

  it('replaces a changed view and creates a missing one, dropping dependents first and creating dependencies first', () => {
    const held = [
      { name: 'v_a', sql: 'CREATE VIEW v_a AS SELECT y AS a FROM t' },
      { name: 'v_b', sql: 'CREATE VIEW v_b AS SELECT a, 2 FROM v_a' },
      { name: 'v_mine', sql: 'CREATE VIEW v_mine AS SELECT 1' },
    ];
    expect(planViews(views, held)).toEqual({
      created: ['v_c'],
      replaced: ['v_a', 'v_b'],
      statements: [
        'DROP VIEW IF EXISTS "v_c"', 'DROP VIEW IF EXISTS "v_b"', 'DROP VIEW IF EXISTS "v_a"',
        'CREATE VIEW "v_a" AS\nSELECT x AS a FROM t', 'CREATE VIEW "v_b" AS\nSELECT a FROM v_a', 'CREATE VIEW "v_c" AS\nSELECT 1 AS one',
      ],
    });
  });

  it('the warehouse\'s views as the migrations create them are what the code defines (a fresh warehouse has nothing to replace)', () => {
    const db = new DatabaseSync(':memory:');
    // Node's SQLite checks every view when 0002 drops a table, so the history tables come first (D1 resolves views when read).
    for (const contract of tableContracts) for (const sql of historyDdl(contract)) db.exec(sql);
    for (const migration of migrations) for (const sql of migration.statements) db.exec(sql);
    const held = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'view'").all() as { name: string; sql: string }[];
    const plan = planViews(warehouseViews(tableContracts), held);
    expect(plan).toEqual({ created: [], replaced: [], statements: [] });
  });
});
