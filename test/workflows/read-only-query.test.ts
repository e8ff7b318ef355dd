import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertProgramReadOnly } from '../../client/read-only-sql.ts';
import { mapWithConcurrency } from '../../workflows/concurrency.ts';
import { runWarehouse, type CliRun } from '../support/cli.ts';
import { startIsolatedWarehouse, type IsolatedWarehouse } from '../support/warehouse.ts';

/**
 * `warehouse query` only reads: the real CLI, as a separate process, against a local D1 service
 * holding a table `t`. Every refusal exits 1 with a one-line reason, and afterwards `t` holds
 * exactly the rows it started with. Below the CLI, the engine's judgement (EXPLAIN) is also put
 * to statements the lexer would never let through, to show it stands on its own.
 */

const rows = [{ id: 1, name: 'alpha' }, { id: 2, name: 'beta' }, { id: 3, name: 'gamma' }];

const refusals: { name: string; sql: string; reason: RegExp }[] = [
  { name: 'a quote inside comments hiding a DELETE after WITH', sql: "WITH x AS (SELECT 1) /* ' */ DELETE FROM t WHERE 1 /* ' */", reason: /WITH … DELETE is not allowed/ },
  { name: 'DELETE', sql: 'DELETE FROM t', reason: /only SELECT.*\(found DELETE\)/ },
  { name: 'UPDATE', sql: "UPDATE t SET name = 'x'", reason: /\(found UPDATE\)/ },
  { name: 'INSERT', sql: "INSERT INTO t (name) VALUES ('x')", reason: /\(found INSERT\)/ },
  { name: 'REPLACE INTO', sql: "REPLACE INTO t (id, name) VALUES (1, 'x')", reason: /\(found REPLACE\)/ },
  { name: 'INSERT … RETURNING inside a CTE (the engine cannot compile it)', sql: "WITH x AS (INSERT INTO t (name) VALUES ('x') RETURNING id) SELECT * FROM x", reason: /D1 could not compile the statement to check that it only reads: near "INSERT": syntax error/ },
  { name: 'WITH … INSERT', sql: "WITH x AS (SELECT 'x' AS name) INSERT INTO t (name) SELECT name FROM x", reason: /WITH … INSERT is not allowed/ },
  { name: 'WITH … UPDATE, lowercase and on several lines', sql: "with x as (select 1)\n  update t set name = 'x'", reason: /WITH … UPDATE is not allowed/ },
  { name: 'PRAGMA user_version = 5', sql: 'PRAGMA user_version = 5', reason: /\(found PRAGMA\)/ },
  { name: 'PRAGMA foreign_keys=off', sql: 'PRAGMA foreign_keys=off', reason: /\(found PRAGMA\)/ },
  { name: 'ATTACH DATABASE', sql: "ATTACH DATABASE '/tmp/x.db' AS x", reason: /\(found ATTACH\)/ },
  { name: 'DETACH', sql: 'DETACH x', reason: /\(found DETACH\)/ },
  { name: 'VACUUM', sql: 'VACUUM', reason: /\(found VACUUM\)/ },
  { name: 'VACUUM INTO', sql: "VACUUM INTO '/tmp/x'", reason: /\(found VACUUM\)/ },
  { name: 'CREATE TABLE', sql: 'CREATE TABLE u (a)', reason: /\(found CREATE\)/ },
  { name: 'CREATE TEMP TABLE', sql: 'CREATE TEMP TABLE u (a)', reason: /\(found CREATE\)/ },
  { name: 'DROP TABLE', sql: 'DROP TABLE t', reason: /\(found DROP\)/ },
  { name: 'ALTER TABLE', sql: 'ALTER TABLE t ADD COLUMN z', reason: /\(found ALTER\)/ },
  { name: 'CREATE INDEX', sql: 'CREATE INDEX i ON t (name)', reason: /\(found CREATE\)/ },
  { name: 'REINDEX', sql: 'REINDEX', reason: /\(found REINDEX\)/ },
  { name: 'ANALYZE', sql: 'ANALYZE', reason: /\(found ANALYZE\)/ },
  { name: 'BEGIN', sql: 'BEGIN', reason: /\(found BEGIN\)/ },
  { name: 'SAVEPOINT', sql: 'SAVEPOINT s', reason: /\(found SAVEPOINT\)/ },
  { name: 'two statements', sql: 'SELECT 1; DELETE FROM t', reason: /one statement at a time \(found 2\)/ },
  { name: 'a second statement after a comment holding a quote', sql: "SELECT 1 -- it's only a comment\n; DELETE FROM t", reason: /one statement at a time \(found 2\)/ },
  { name: 'a second statement after a comment holding a semicolon', sql: 'SELECT 1 /* ; */ ; DROP TABLE t', reason: /one statement at a time \(found 2\)/ },
  { name: 'a second statement after a string, a third behind a comment', sql: "SELECT 'x'; DELETE FROM t; --'", reason: /one statement at a time \(found 2\)/ },
  { name: 'a semicolon inside one string', sql: "SELECT 'x; DELETE FROM t; --'", reason: /a ';' inside a string or quoted name .* is not accepted/ },
  { name: 'an unterminated comment', sql: 'SELECT * FROM t /* DELETE FROM t', reason: /unterminated \/\* comment \(character 17\)/ },
  { name: 'an unterminated string', sql: "SELECT 'DELETE FROM t", reason: /unterminated string \(character 8\)/ },
  { name: 'EXPLAIN DELETE', sql: 'EXPLAIN DELETE FROM t', reason: /\(found DELETE after EXPLAIN\)/ },
  { name: 'EXPLAIN QUERY PLAN of an UPDATE', sql: "explain query plan update t set name = 'x'", reason: /\(found update after EXPLAIN\)/ },
  { name: 'lowercase delete', sql: 'delete from t', reason: /\(found delete\)/ },
  { name: 'mixed case and whitespace', sql: ' \n\t DeLeTe\n  FROM t ;\n', reason: /\(found DeLeTe\)/ },
  { name: 'nothing but a comment', sql: '-- SELECT 1', reason: /no SQL statement given/ },
];

const acceptances: { name: string; sql: string; rows: Record<string, unknown>[] }[] = [
  { name: 'replace() is a function, not REPLACE INTO', sql: "SELECT replace(name, 'a', 'b') AS r FROM t ORDER BY id", rows: [{ r: 'blphb' }, { r: 'betb' }, { r: 'gbmmb' }] },
  { name: 'a write inside a string', sql: "SELECT 'DELETE FROM t' AS s", rows: [{ s: 'DELETE FROM t' }] },
  { name: 'a second statement inside a comment', sql: 'SELECT * FROM t -- ; DELETE FROM t', rows },
  { name: 'WITH … SELECT', sql: 'WITH c AS (SELECT name FROM t WHERE id > 1) SELECT count(*) AS n FROM c;', rows: [{ n: 2 }] },
  { name: 'VALUES', sql: 'VALUES (1)', rows: [{ column1: 1 }] },
  { name: 'a column named "update"', sql: 'select "update" from (select 1 as "update")', rows: [{ update: 1 }] },
  { name: 'DISTINCT and IN (…), which write only temporary tables', sql: '/* lead */ select distinct name from t where id in (select id from t where id < 3) order by 1', rows: [{ name: 'alpha' }, { name: 'beta' }] },
  { name: 'EXPLAIN QUERY PLAN', sql: 'EXPLAIN QUERY PLAN SELECT * FROM t WHERE id = 1', rows: [{ id: expect.any(Number), parent: 0, notused: expect.any(Number), detail: 'SEARCH t USING INTEGER PRIMARY KEY (rowid=?)' }] },
];

describe('warehouse query only reads, as the database engine judges it', () => {
  let warehouse: IsolatedWarehouse;
  const runs = new Map<string, CliRun>();

  /** The rows of `t`, straight from D1. */
  const tableRows = async () => (await warehouse.d1.query('SELECT id, name FROM t ORDER BY id'))[0]?.results;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await warehouse.d1.query('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    await warehouse.d1.query("INSERT INTO t (id, name) VALUES (1, 'alpha'), (2, 'beta'), (3, 'gamma')");
    // Each case is its own `warehouse query` process; a few at a time keep the file quick.
    const cases = [...refusals, ...acceptances];
    const results = await mapWithConcurrency(cases, 4, (c) => runWarehouse(['query', '--json', '--', c.sql], warehouse.env, 60_000));
    cases.forEach((c, i) => runs.set(c.sql, results[i]!));
  });

  afterAll(async () => {
    await warehouse?.close();
  });

  it.each(refusals)('refuses $name', ({ sql, reason }) => {
    const run = runs.get(sql)!;
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^warehouse: query refused: .+\n$/);
    expect(run.stderr).toMatch(reason);
    expect(run.code).toBe(1);
  });

  it.each(acceptances)('answers $name', ({ sql, rows: expected }) => {
    const run = runs.get(sql)!;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(expected);
  });

  it('leaves the table exactly as it was after every refusal', async () => {
    expect(await tableRows()).toEqual(rows);
    const [schema] = await warehouse.d1.query("SELECT type, name FROM sqlite_master WHERE name NOT LIKE '\\_cf%' ESCAPE '\\' ORDER BY name");
    expect(schema?.results).toEqual([{ type: 'table', name: 't' }]);
  });

  describe('the engine judges on its own what the lexer never lets through', () => {
    it.each([
      ['DELETE FROM t', 'Transaction on main with write intent'],
      ["INSERT INTO t (name) VALUES ('x') RETURNING id", 'Transaction on main with write intent'],
      ["REPLACE INTO t (id, name) VALUES (1, 'x')", 'Transaction on main with write intent'],
      ['CREATE INDEX i ON t (name)', 'Transaction on main with write intent'],
      ['ALTER TABLE t ADD COLUMN z', 'Transaction on main with write intent'],
      ['DROP TABLE t', 'Transaction on main with write intent'],
      ['ANALYZE', 'Transaction on main with write intent'],
      ["VACUUM INTO '/tmp/x'", 'Vacuum: rewrites the database file'],
      ['PRAGMA foreign_keys=off', 'Expire: expires prepared statements (a schema or setting change)'],
    ])('%s: %s', async (sql, write) => {
      await expect(assertProgramReadOnly(warehouse.d1, sql)).rejects.toThrow(`query refused: the statement writes to the database (${write})`);
    });

    it.each(['CREATE TEMP TABLE u (a)', "ATTACH DATABASE '/tmp/x.db' AS x", 'SAVEPOINT s', 'PRAGMA user_version = 5'])('%s: D1 will not compile it, so it is refused', async (sql) => {
      await expect(assertProgramReadOnly(warehouse.d1, sql)).rejects.toThrow(/^query refused: D1 could not compile the statement to check that it only reads: /);
    });

    it.each([
      'SELECT 1 UNION SELECT 2',
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) SELECT * FROM c',
      'WITH m AS MATERIALIZED (SELECT * FROM t) SELECT * FROM m a, m b',
      'SELECT name, row_number() OVER (ORDER BY id) FROM t',
      'SELECT a.name FROM t a JOIN t b ON a.name = b.name',
      "SELECT * FROM json_each('[1,2]')",
      "SELECT * FROM pragma_table_info('t')",
    ])('passes a read that uses temporary tables or virtual tables: %s', async (sql) => {
      await expect(assertProgramReadOnly(warehouse.d1, sql)).resolves.toBeUndefined();
    });

    it('still leaves the table as it was', async () => {
      expect(await tableRows()).toEqual(rows);
    });
  });

  it('reads with CLOUDFLARE_API_TOKEN_READ when it is set, for query and status alike', async () => {
    const readOnly = { ...warehouse.env, CLOUDFLARE_API_TOKEN: 'not-the-token', CLOUDFLARE_API_TOKEN_READ: warehouse.env.CLOUDFLARE_API_TOKEN! };
    const [query, status, wrongRead] = await Promise.all([
      runWarehouse(['query', '--json', 'SELECT count(*) AS n FROM t'], readOnly, 60_000),
      runWarehouse(['status'], readOnly, 60_000),
      runWarehouse(['query', 'SELECT 1'], { ...warehouse.env, CLOUDFLARE_API_TOKEN_READ: 'not-the-token' }, 60_000),
    ]);
    expect(query.stderr).toBe('');
    expect(JSON.parse(query.stdout)).toEqual([{ n: 3 }]);
    expect(status.stderr).toMatch(/no control schema yet/); // it reached D1 with the read token
    expect(wrongRead.code).toBe(1);
    expect(wrongRead.stderr).toMatch(/authentication failed \(HTTP 403\)/);
  });
});
