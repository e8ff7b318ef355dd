import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../activities/schema.ts';
import { tableChecksum } from '../../client/checksum.ts';
import { contractFor, tableContracts } from '../../contracts/index.ts';
import { createD1Client, type D1Client } from '../../d1/client.ts';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';
import { controlSchemaDdl } from '../../history/control-schema.ts';
import { historyDdl } from '../../history/ddl.ts';
import { migrations, migrationsTableDdl } from '../../history/migrations.ts';
import { readerViews } from '../../history/reports.ts';
import { quoteIdentifier as q } from '../../d1/pack.ts';

/**
 * Migration 0006 on the local D1 service: a stock table as the released code built it (REAL
 * quantities, in the history and the stage table) becomes `<name>_units` INTEGER, exactly, with
 * the same checksum; a REAL that is not a whole number of units is refused by name; a migrate
 * interrupted anywhere finishes on the next run.
 */

const stock = contractFor('stock');

/** The stock tables as the release created them: each quantity a REAL under its own name, `stock_current` over them. */
function releasedStockDdl(): string[] {
  return historyDdl(stock).map((sql) => {
    if (sql.startsWith('CREATE VIEW')) {
      return `CREATE VIEW IF NOT EXISTS "stock_current" AS SELECT "depot_code", "product_code", "on_hand", "reserved", "on_order", _valid_from, _loaded_by FROM "stock" WHERE _is_current = 1 AND _is_deleted = 0`;
    }
    return sql.replace(/"(on_hand|reserved|on_order)_units" INTEGER/g, '"$1" REAL');
  });
}

// [depot, product, on_hand, reserved, on_order] as the release bound them (JS numbers: the doubles nearest the decimals).
const versions: [string, string, number | null, number, number][] = [
  ['LYO', 'A1', 12.5, 0, 3],
  ['LYO', 'A2', 0.29, 0.001, 0],
  ['LYO', 'A3', -4.205, 1.1, 2.675],
  ['PAR', 'A1', 90071992547.409, 0, 0],
  ['PAR', 'A2', null, 0, 0],
  ['PAR', 'A3', 1e-3, 999999.999, 0.07],
  ['MAR', 'A1', 7, 0.3, 0.1],
];

/** The checksum line the release wrote for a version: `Number(v).toFixed(scale)`, then hash, validity and flags. */
function releasedLine(v: (typeof versions)[number]): string {
  const text = (x: number | null) => (x === null ? '\\N' : Number(x).toFixed(3));
  return JSON.stringify([v[0], v[1], text(v[2]), text(v[3]), text(v[4]), `h-${v[0]}-${v[1]}`, '2027-08-02', null, 1, 0]);
}

/** A client whose calls fail after `limit` of them: a migrate cut off part-way (a lost connection, a killed process). */
function failingAfter(d1: D1Client, limit: number): Pick<D1Client, 'query' | 'batch' | 'first' | 'scalar'> {
  let calls = 0;
  const gate = () => {
    if (++calls > limit) throw new Error(`connection lost after ${limit} calls`);
  };
  return {
    query: (async (sql: string, params?: readonly unknown[]) => (gate(), d1.query(sql, params as never))) as D1Client['query'],
    batch: (async (statements: Parameters<D1Client['batch']>[0]) => (gate(), d1.batch(statements))) as D1Client['batch'],
    first: (async (sql: string, params?: readonly unknown[]) => (gate(), d1.first(sql, params as never))) as D1Client['first'],
    scalar: (async (sql: string, params?: readonly unknown[]) => (gate(), d1.scalar(sql, params as never))) as D1Client['scalar'],
  };
}

describe('migration 0006: money stored as units, in place', () => {
  let service: LocalD1Service;
  let dir: string;
  let d1: D1Client;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sodimo-money-'));
    service = await startLocalD1Service({ dataDir: dir, apiToken: randomBytes(8).toString('hex'), conformance: 'collect' });
    d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken });
    // The warehouse as migrated before 0006: its views read the REAL columns, so the code's reader views over stock
    // (which read the units) are not there; the migrations before 0006 applied and recorded.
    const unitViews = readerViews().filter((v) => v.sql.includes('on_hand_units')).map((v) => `DROP VIEW ${q(v.name)}`);
    const otherTables = tableContracts.filter((c) => c.table !== 'stock').flatMap(historyDdl); // no amounts loaded there: nothing to convert
    await d1.batch([...controlSchemaDdl(), ...unitViews, ...releasedStockDdl(), ...otherTables].map((sql) => ({ sql })));
    await d1.query(migrationsTableDdl);
    for (const migration of migrations.filter((m) => m.name < '0006')) {
      await d1.batch([...(migration.name === '0001_control_schema' ? [] : migration.statements).map((sql) => ({ sql })), { sql: 'INSERT INTO d1_migrations (name) VALUES (?)', params: [migration.name] }]);
    }
    await d1.batch(versions.map((v) => ({
      sql: `INSERT INTO stock (depot_code, product_code, on_hand, reserved, on_order, _valid_from, _valid_to, _is_current, _is_deleted, _row_hash, _loaded_by) VALUES (?, ?, ?, ?, ?, '2027-08-02', NULL, 1, 0, ?, 'load-1')`,
      params: [v[0], v[1], v[2], v[3], v[4], `h-${v[0]}-${v[1]}`],
    })));
    // A failed load left two rows in the stage table.
    await d1.query(`INSERT INTO _stage_stock (_load_id, _line, depot_code, product_code, on_hand, reserved, on_order, _row_hash) VALUES
      ('load-2', 2, 'LYO', 'A1', 13.25, 0, 3, 'x'), ('load-2', 3, 'LYO', 'A9', 0.5, 0.125, 0, 'y')`);
  });
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a stored REAL that is not a whole number of units, naming the table, column, version and value, and keeps the REAL', async () => {
    await d1.query("UPDATE stock SET reserved = 0.0005 WHERE depot_code = 'MAR' AND product_code = 'A1'");
    const [version] = await d1.query<{ id: number }>("SELECT _version_id AS id FROM stock WHERE depot_code = 'MAR'");
    const refused = applyMigrations(d1, { moneyChunkRows: 3 });
    await expect(refused).rejects.toMatchObject({ type: 'StoredAmountNotExact' });
    await expect(refused).rejects.toThrow(`stock.reserved, version ${version?.results[0]?.id}: the stored value 0.0005 is not a whole number of units of 0.001 (scale 3)`);
    const [columns] = await d1.query<{ name: string }>('PRAGMA table_info(stock)');
    expect(columns?.results.map((c) => c.name)).toContain('reserved');
    await d1.query("UPDATE stock SET reserved = 0.3 WHERE depot_code = 'MAR' AND product_code = 'A1'");
  });

  it('converts every quantity exactly, interrupted anywhere, finishing on the next migrate; the checksum is the release\'s', async () => {
    // Cut the migrate off after 1, 4, 7, … calls until one run gets through: each run carries on from the last.
    let interrupted = 0;
    for (let limit = 1; ; limit += 3) {
      try {
        await applyMigrations(failingAfter(d1, limit), { moneyChunkRows: 3 });
        break;
      } catch (error) {
        expect(String(error)).toContain('connection lost');
        interrupted += 1;
      }
    }
    expect(interrupted).toBeGreaterThan(5);
    expect(await applyMigrations(d1)).toMatchObject({ applied: [], contract: [], views: { created: [], replaced: [] } });

    const [columns] = await d1.query<{ name: string; type: string }>('PRAGMA table_info(stock)');
    expect(columns?.results.filter((c) => /on_hand|reserved|on_order/.test(c.name)).map((c) => [c.name, c.type])).toEqual([
      ['on_hand_units', 'INTEGER'], ['reserved_units', 'INTEGER'], ['on_order_units', 'INTEGER'],
    ]);
    const [rows] = await d1.query('SELECT depot_code, product_code, on_hand_units, reserved_units, on_order_units FROM stock ORDER BY _version_id');
    expect(rows?.results).toEqual([
      { depot_code: 'LYO', product_code: 'A1', on_hand_units: 12500, reserved_units: 0, on_order_units: 3000 },
      { depot_code: 'LYO', product_code: 'A2', on_hand_units: 290, reserved_units: 1, on_order_units: 0 },
      { depot_code: 'LYO', product_code: 'A3', on_hand_units: -4205, reserved_units: 1100, on_order_units: 2675 },
      { depot_code: 'PAR', product_code: 'A1', on_hand_units: 90071992547409, reserved_units: 0, on_order_units: 0 },
      { depot_code: 'PAR', product_code: 'A2', on_hand_units: null, reserved_units: 0, on_order_units: 0 },
      { depot_code: 'PAR', product_code: 'A3', on_hand_units: 1, reserved_units: 999999999, on_order_units: 70 },
      { depot_code: 'MAR', product_code: 'A1', on_hand_units: 7000, reserved_units: 300, on_order_units: 100 },
    ]);
    const [staged] = await d1.query('SELECT _line, on_hand_units, reserved_units, on_order_units FROM _stage_stock ORDER BY _line');
    expect(staged?.results).toEqual([{ _line: 2, on_hand_units: 13250, reserved_units: 0, on_order_units: 3000 }, { _line: 3, on_hand_units: 500, reserved_units: 125, on_order_units: 0 }]);
    const [recorded] = await d1.query<{ column_name: string; sql_type: string }>("SELECT column_name, sql_type FROM etl_contract_columns WHERE table_name = 'stock' ORDER BY position");
    expect(recorded?.results.map((r) => r.sql_type)).toEqual(['TEXT', 'TEXT', 'INTEGER', 'INTEGER', 'INTEGER']);

    // The reader view presents the quantity and its units; an exact sum is the SUM of the units.
    const [current] = await d1.query("SELECT on_hand, on_hand_units FROM stock_current WHERE depot_code = 'LYO' AND product_code = 'A2'");
    expect(current?.results).toEqual([{ on_hand: 0.29, on_hand_units: 290 }]);
    const [sum] = await d1.query<{ units: string }>('SELECT CAST(SUM(on_hand_units) AS TEXT) AS units FROM stock_current');
    expect(sum?.results[0]?.units).toBe(String(12500 + 290 - 4205 + 90071992547409 + 1 + 7000));

    const expected = createHash('sha256').update(versions.map(releasedLine).sort().join('\n')).digest('hex');
    expect(await tableChecksum(d1, stock)).toMatchObject({ table: 'stock', versions: versions.length, sha256: expected });
  });
});
