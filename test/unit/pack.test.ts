import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { D1_MAX_BOUND_PARAMS, D1_MAX_STATEMENT_BYTES } from '../../d1/limits.ts';
import { packBatches, packBatchesEndingWith, packInserts, sqlLiteral, utf8ByteLength, type SqlValue } from '../../d1/pack.ts';

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** A wide, realistic ERP row: French names, accents, €, quotes, decimals, dates, nulls. */
function wideRow(i: number, width: number): SqlValue[] {
  const row: SqlValue[] = [];
  for (let c = 0; c < width; c++) {
    switch (c % 6) {
      case 0: row.push(`Société Générale d'Électricité n°${i}-${c} « Œuvre » — 12,50 €`); break;
      case 1: row.push(i * 1000 + c); break;
      case 2: row.push((i + c) / 7); break;
      case 3: row.push(c % 4 === 3 ? null : `2026-11-${String((i % 28) + 1).padStart(2, '0')}`); break;
      case 4: row.push(`Quai de l'Yser "bât. ${c}" 🚚 Ø Straße ${'é'.repeat(i % 50)}`); break;
      default: row.push(BigInt(i) * 10_000_000_000n + BigInt(c));
    }
  }
  return row;
}

const columnsOf = (width: number): string[] => Array.from({ length: width }, (_, c) => `col_${c}_libellé`);

describe('packInserts, bound mode', () => {
  it('keeps every statement within 100 params and 100,000 bytes, in row order', () => {
    const columns = columnsOf(30);
    const rows = Array.from({ length: 500 }, (_, i) => wideRow(i, 30));
    const statements = packInserts({ table: 'stage_articles', columns, rows, mode: 'bound' });
    expect(statements.length).toBe(Math.ceil(500 / 3)); // 3 rows of 30 params fit in 100
    for (const s of statements) {
      expect(s.params!.length).toBeLessThanOrEqual(D1_MAX_BOUND_PARAMS);
      expect(s.params!.length % 30).toBe(0);
      expect(bytes(s.sql)).toBeLessThanOrEqual(D1_MAX_STATEMENT_BYTES);
      expect(s.sql.match(/\?/g)!.length).toBe(s.params!.length);
    }
    expect(statements.flatMap((s) => s.params)).toEqual(rows.flat());
  });

  it('accepts exactly 100 params per statement and rejects a row needing 101', () => {
    const ok = packInserts({ table: 't', columns: columnsOf(100), rows: [wideRow(1, 100), wideRow(2, 100)], mode: 'bound' });
    expect(ok.map((s) => s.params!.length)).toEqual([100, 100]);

    const fifty = packInserts({ table: 't', columns: columnsOf(50), rows: [1, 2, 3].map((i) => wideRow(i, 50)), mode: 'bound' });
    expect(fifty.map((s) => s.params!.length)).toEqual([100, 50]);

    expect(() => packInserts({ table: 'stage_wide', columns: columnsOf(101), rows: [wideRow(1, 101)], mode: 'bound' })).toThrow(
      /table "stage_wide" row index 0 .*101 bound parameters/,
    );
  });

  it('rejects blobs, non-finite numbers and ragged rows, naming table, row and column', () => {
    const columns = ['a', 'b'];
    expect(() => packInserts({ table: 'x', columns, rows: [['1', 2], ['3', new Uint8Array([1])]], mode: 'bound' })).toThrow(
      /table "x" row index 1 column "b": blobs/,
    );
    expect(() => packInserts({ table: 'x', columns, rows: [['1', Number.NaN]], mode: 'bound' })).toThrow(/row index 0 column "b"/);
    expect(() => packInserts({ table: 'x', columns, rows: [['1', 2], ['3']], mode: 'bound' })).toThrow(/row index 1 has 1 values for 2 columns/);
  });

  it('quotes identifiers and uses the requested verb', () => {
    const [s] = packInserts({ table: 'we"ird', columns: ['a"b', 'c'], rows: [[1, 2]], mode: 'bound', verb: 'INSERT OR IGNORE' });
    expect(s!.sql).toBe('INSERT OR IGNORE INTO "we""ird" ("a""b", "c") VALUES (?, ?)');
  });
});

describe('packInserts, literal mode', () => {
  it('keeps every statement within 100,000 UTF-8 bytes (not string length) and packs tightly', () => {
    const columns = columnsOf(40);
    const rows = Array.from({ length: 2000 }, (_, i) => wideRow(i, 40));
    const statements = packInserts({ table: 'stage_clients', columns, rows, mode: 'literal' });
    const sizes = statements.map((s) => bytes(s.sql));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(D1_MAX_STATEMENT_BYTES);
    // Multi-byte text makes byte length exceed string length: counting chars would overflow.
    expect(statements.some((s) => s.sql.length < bytes(s.sql))).toBe(true);
    // Every statement but the last is too full to take another row (~2.9 KB each).
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(D1_MAX_STATEMENT_BYTES - 4_000);
    expect(statements.every((s) => s.params!.length === 0)).toBe(true);

    const db = new DatabaseSync(':memory:');
    db.exec(`CREATE TABLE stage_clients (${columns.map((c) => `"${c}"`).join(', ')})`);
    for (const s of statements) db.exec(s.sql);
    expect(db.prepare('SELECT count(*) AS n FROM stage_clients').get()).toEqual({ n: 2000 });
  });

  it('accepts a row that makes the statement exactly maxBytes and rejects one byte more', () => {
    const prefix = 'INSERT INTO "stage_ventes" ("v") VALUES ';
    const fill = (n: number): string => '€'.repeat(Math.floor(n / 3)) + 'x'.repeat(n % 3);
    const exact = fill(D1_MAX_STATEMENT_BYTES - bytes(prefix) - 4); // ('…') adds 4 bytes
    const [s] = packInserts({ table: 'stage_ventes', columns: ['v'], rows: [[exact]], mode: 'literal' });
    expect(bytes(s!.sql)).toBe(D1_MAX_STATEMENT_BYTES);
    expect(s!.sql.startsWith(prefix)).toBe(true);

    const rows: SqlValue[][] = [['a'], ['b'], ['c'], [exact + 'x']];
    expect(() => packInserts({ table: 'stage_ventes', columns: ['v'], rows, mode: 'literal' })).toThrow(
      /table "stage_ventes" row index 3 cannot fit: .*100001 bytes/,
    );
  });

  it('round-trips tricky values through SQLite', () => {
    const values: SqlValue[] = [
      "O'Brien", "''", "'; DROP TABLE t; --", '"quoted"', 'back\\slash', 'line\nbreak\r\ntab\t', '€ œ ’ « » é', '😀🚚',
      '', ' ', 0, -1.5, 1e-7, 123456.789, 2 ** 53, -(2 ** 31), 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n,
      null, true, false, new Uint8Array([0, 1, 0x7f, 0x80, 0xff]), new Uint8Array([]),
    ];
    const [s] = packInserts({ table: 't', columns: ['v'], rows: values.map((v) => [v]), mode: 'literal' });
    const db = new DatabaseSync(':memory:');
    db.exec('CREATE TABLE t (v)'); // no declared type: values keep their storage class
    db.exec(s!.sql);
    const select = db.prepare('SELECT v, CAST(v AS TEXT) AS text FROM t ORDER BY rowid');
    select.setReadBigInts(true); // every INTEGER comes back as bigint, exactly
    const back = select.all() as { v: unknown; text: string }[];
    expect(back).toHaveLength(values.length);
    values.forEach((value, i) => {
      const row = back[i]!;
      if (typeof value === 'bigint') expect(row.text).toBe(value.toString());
      else if (typeof value === 'boolean') expect(row.v).toBe(value ? 1n : 0n);
      else if (typeof value === 'number' && Number.isInteger(value)) expect(row.v).toBe(BigInt(value));
      else if (value instanceof Uint8Array) expect(new Uint8Array(row.v as Uint8Array)).toEqual(value);
      else expect(row.v).toBe(value);
    });
  });

  it('rejects values a literal cannot carry, naming table, row and column', () => {
    const bad: [SqlValue, RegExp][] = [
      ['a\u0000b', /NUL/],
      [Number.POSITIVE_INFINITY, /finite/],
      [2n ** 63n, /64-bit/],
      [undefined as unknown as SqlValue, /unsupported/],
    ];
    for (const [value, reason] of bad) {
      expect(() => packInserts({ table: 'stage_x', columns: ['k', 'v'], rows: [[1, 'ok'], [2, value]], mode: 'literal' })).toThrow(
        new RegExp(`table "stage_x" row index 1 column "v": .*${reason.source}`),
      );
    }
  });
});

describe('sqlLiteral and utf8ByteLength', () => {
  it('render literals', () => {
    expect(sqlLiteral("l'été")).toBe("'l''été'");
    expect(sqlLiteral(null)).toBe('NULL');
    expect(sqlLiteral(-0)).toBe('0');
    expect(sqlLiteral(9_000_000_000_000_000_001n)).toBe('9000000000000000001');
    expect(sqlLiteral(new Uint8Array([0xab, 0x01]))).toBe("X'AB01'");
  });

  it('count UTF-8 bytes like Buffer does', () => {
    for (const text of ['', 'abc', 'é', '€', '😀', 'a€😀é\u0000', '\ud800 lone', 'lone \udc00']) {
      expect(utf8ByteLength(text)).toBe(bytes(text));
    }
  });
});

describe('packBatches', () => {
  const statements = Array.from({ length: 1000 }, (_, i) => ({ sql: `INSERT INTO t VALUES (?, ?) -- ${i}`, params: [i, 'é€'] }));

  it('caps statements per batch and keeps order', () => {
    const batches = packBatches(statements, { maxStatements: 300 });
    expect(batches.map((b) => b.length)).toEqual([300, 300, 300, 100]);
    expect(batches.flat()).toEqual(statements);
  });

  it('caps the JSON body size per batch', () => {
    const maxBytes = 5_000;
    const batches = packBatches(statements, { maxBytes, maxStatements: 10_000 });
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(bytes(JSON.stringify({ batch }))).toBeLessThanOrEqual(maxBytes);
    expect(batches.flat()).toEqual(statements);
  });

  it('puts an oversize statement in a batch of its own and counts bigint params as strings', () => {
    const big = { sql: `SELECT '${'x'.repeat(2_000)}'`, params: [2n ** 60n] };
    const batches = packBatches([statements[0]!, big, statements[1]!], { maxBytes: 1_000 });
    expect(batches).toEqual([[statements[0]], [big], [statements[1]]]);
  });

  it('defaults keep literal statements from 2,000 wide rows within 1 MB per request', () => {
    const rows = Array.from({ length: 2000 }, (_, i) => wideRow(i, 40));
    const packed = packInserts({ table: 't', columns: columnsOf(40), rows, mode: 'literal' });
    for (const batch of packBatches(packed)) expect(bytes(JSON.stringify({ batch }))).toBeLessThanOrEqual(1_000_000);
  });
});

describe('packInserts onConflictDoNothing', () => {
  it('ends every statement with ON CONFLICT (…) DO NOTHING and counts it against the byte budget', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ['load', i, 'x'.repeat(20)] as const);
    const statements = packInserts({ table: '_stage_t', columns: ['_load_id', '_line', 'v'], rows, mode: 'literal', maxBytes: 400, onConflictDoNothing: ['_load_id', '_line'] });
    expect(statements.length).toBeGreaterThan(1);
    for (const s of statements) {
      expect(s.sql).toMatch(/^INSERT INTO "_stage_t" \("_load_id", "_line", "v"\) VALUES \(.*\) ON CONFLICT \("_load_id", "_line"\) DO NOTHING$/);
      expect(Buffer.byteLength(s.sql)).toBeLessThanOrEqual(400);
    }
  });

  it('makes a resent statement insert nothing twice in SQLite, while other constraints still fail', () => {
    const db = new DatabaseSync(':memory:');
    db.exec('CREATE TABLE s (_load_id TEXT NOT NULL, _line INTEGER NOT NULL, v TEXT NOT NULL); CREATE UNIQUE INDEX s__load_line ON s (_load_id, _line)');
    const rows = [['L', 2, 'a'], ['L', 3, 'b']] as const;
    const [statement] = packInserts({ table: 's', columns: ['_load_id', '_line', 'v'], rows, mode: 'literal', onConflictDoNothing: ['_load_id', '_line'] });
    db.exec(statement!.sql);
    db.exec(statement!.sql);
    expect(db.prepare('SELECT count(*) AS n FROM s').get()).toEqual({ n: 2 });
    const [broken] = packInserts({ table: 's', columns: ['_load_id', '_line', 'v'], rows: [['L', 4, null]], mode: 'literal', onConflictDoNothing: ['_load_id', '_line'] });
    expect(() => db.exec(broken!.sql)).toThrow(/NOT NULL/);
  });
});

describe('packBatchesEndingWith', () => {
  const statements = Array.from({ length: 5 }, (_, i) => ({ sql: `INSERT INTO t VALUES (${i})` }));
  const closing = [{ sql: 'SELECT count(*) FROM t' }, { sql: "UPDATE loads SET status = 'staged'" }];

  it('puts the closing statements in the batch of the last statements when they all fit there', () => {
    expect(packBatchesEndingWith(statements.slice(0, 4), closing, { maxStatements: 3 })).toEqual([statements.slice(0, 3), [statements[3], ...closing]]);
  });

  it('keeps them whole in a batch of their own when the last batch has room for only part of them', () => {
    // Packed together they would be split: [s0 s1 s2] [s3 s4 c0] [c1].
    expect(packBatches([...statements, ...closing], { maxStatements: 3 }).at(-1)).toEqual([closing[1]]);
    expect(packBatchesEndingWith(statements, closing, { maxStatements: 3 })).toEqual([statements.slice(0, 3), statements.slice(3), closing]);
    const bytesBound = packBatchesEndingWith(statements, closing, { maxBytes: bytes(JSON.stringify({ batch: [...statements.slice(0, 2), closing[0]] })) });
    expect(bytesBound.at(-1)).toEqual(closing);
    expect(bytesBound.flat()).toEqual([...statements, ...closing]);
  });

  it('sends the closing statements alone when there is nothing before them', () => {
    expect(packBatchesEndingWith([], closing)).toEqual([closing]);
    expect(packBatchesEndingWith(statements, [])).toEqual(packBatches(statements));
  });
});

