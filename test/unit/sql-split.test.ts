import { describe, it, expect } from 'vitest';
import { splitSqlStatements } from '../../d1/sql-split.ts';

describe('splitSqlStatements', () => {
  it('splits on semicolons between statements and drops empty ones', () => {
    expect(splitSqlStatements('CREATE TABLE t (a); INSERT INTO t VALUES (1);;\n SELECT * FROM t;')).toEqual([
      'CREATE TABLE t (a)',
      'INSERT INTO t VALUES (1)',
      'SELECT * FROM t',
    ]);
  });

  it('keeps semicolons inside strings, quoted identifiers and comments', () => {
    const sql = `INSERT INTO "we;ird" VALUES ('Dupont; Fils', 'l''œuf; ok') -- note; here\n; SELECT [a;b] /* x; y */ FROM t`;
    expect(splitSqlStatements(sql)).toEqual([
      `INSERT INTO "we;ird" VALUES ('Dupont; Fils', 'l''œuf; ok') -- note; here`,
      'SELECT [a;b] /* x; y */ FROM t',
    ]);
  });

  it('keeps a trigger body whole until END;', () => {
    const sql = 'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET n = n + 1; DELETE FROM v; END; SELECT 1';
    expect(splitSqlStatements(sql)).toEqual(['CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET n = n + 1; DELETE FROM v; END', 'SELECT 1']);
  });

  it('returns nothing for blank text or comments only', () => {
    expect(splitSqlStatements('  ;\n -- nothing\n /* still nothing */ ')).toEqual([]);
  });
});
