/**
 * D1 conformance: what the warehouse relies on, checked against real Cloudflare D1 when
 * CLOUDFLARE_ACCOUNT_ID, D1_DATABASE_ID and CLOUDFLARE_API_TOKEN are set, otherwise against
 * a local D1 service this file starts for itself (fault injection and whole-database restores
 * would disturb other test files). Fault-injection cases only run locally.
 *
 * Against Cloudflare, use a dedicated test database: the Time Travel case restores it whole.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createD1Client, type D1Client, type D1ClientOptions, type D1RetryInfo, type D1Statement } from '../../d1/client.ts';
import { D1Error } from '../../d1/errors.ts';
import { D1_MAX_BOUND_PARAMS, D1_MAX_STATEMENT_BYTES } from '../../d1/limits.ts';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';
import { packBatches, packInserts, type SqlValue } from '../../d1/pack.ts';

const env = process.env;
const live = Boolean(env.CLOUDFLARE_ACCOUNT_ID && env.D1_DATABASE_ID && env.CLOUDFLARE_API_TOKEN);
const localOnly = '[local only: needs fault injection]';

let service: LocalD1Service | undefined;
let dataDir: string | undefined;
let target: Pick<D1ClientOptions, 'baseUrl' | 'accountId' | 'databaseId' | 'apiToken'>;
let db: D1Client;
const createdTables: string[] = [];

beforeAll(async () => {
  if (live) {
    target = {
      baseUrl: 'https://api.cloudflare.com/client/v4',
      accountId: env.CLOUDFLARE_ACCOUNT_ID!,
      databaseId: env.D1_DATABASE_ID!,
      apiToken: env.CLOUDFLARE_API_TOKEN!,
    };
    console.info(`D1 conformance: running against Cloudflare D1 (database ${target.databaseId})`);
  } else {
    dataDir = await mkdtemp(join(tmpdir(), 'd1-conformance-'));
    service = await startLocalD1Service({ dataDir, apiToken: randomBytes(24).toString('hex'), port: 0, conformance: 'collect' });
    target = { baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken };
    console.info(`D1 conformance: running against the local D1 service at ${service.url}`);
  }
  db = client();
});

afterEach(async () => {
  if (service) await localAdmin('DELETE', '/__local/faults');
});

afterAll(async () => {
  if (db && createdTables.length > 0) {
    await db.batch(createdTables.map((t) => ({ sql: `DROP TABLE IF EXISTS ${t}` }))).catch(() => undefined);
  }
  await service?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function client(overrides: Partial<D1ClientOptions> = {}): D1Client {
  return createD1Client({ ...target, retry: { baseDelayMs: 100 }, ...overrides });
}

/** A fresh table name, dropped after the run. */
function table(purpose: string): string {
  const name = `conf_${purpose}_${randomBytes(4).toString('hex')}`;
  createdTables.push(name);
  return name;
}

async function count(name: string): Promise<number> {
  const [result] = await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${name}`);
  return result!.results[0]!.n;
}

/** The rejection of `promise`, asserted to be a D1 client error. */
async function rejection(promise: Promise<unknown>): Promise<D1Error> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(D1Error);
  return err as D1Error;
}

/** Calls an admin route of the local D1 service (faults). */
async function localAdmin(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<void> {
  const response = await request(service!.origin + path, {
    method,
    headers: { authorization: `Bearer ${service!.apiToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${method} ${path}: HTTP ${response.statusCode} ${text}`);
}

/** A realistic ERP row of 40 columns: accents, €, quotes, decimals, dates, nulls, a big integer. */
function erpRow(i: number): SqlValue[] {
  const row: SqlValue[] = [i, BigInt(i) + 9_007_199_254_740_993n];
  for (let c = 2; c < 40; c++) {
    switch (c % 5) {
      case 0: row.push(`Société d'Électricité « Œuvre » n°${i}/${c} — 1 234,50 €`); break;
      case 1: row.push((i * 31 + c) / 100); break;
      case 2: row.push(c % 7 === 0 ? null : `2026-11-${String((i % 28) + 1).padStart(2, '0')}`); break;
      case 3: row.push(`Quai de l'Yser "bât. ${c}" Straße ${'é'.repeat(i % 40)}`); break;
      default: row.push(i % 2 === 0);
    }
  }
  return row;
}
const erpColumns = ['id', 'big', ...Array.from({ length: 38 }, (_, c) => `champ_${c + 2}_libellé`)];

/** Creates a table for `erpRow`s, keyed by id. */
async function createErpTable(name: string): Promise<void> {
  const columnsSql = erpColumns.map((c, i) => `"${c}" ${i < 2 ? 'INTEGER' : ''}`).join(', ');
  await db.query(`CREATE TABLE ${name} (${columnsSql}, PRIMARY KEY ("id"))`);
}

/** Asserts that row `id` of an ERP table reads back exactly as `erpRow(id)` wrote it. */
async function expectErpRowIntact(name: string, id: number): Promise<void> {
  const [sample] = await db.query<Record<string, unknown>>(`SELECT *, CAST("big" AS TEXT) AS big_text, typeof("big") AS big_type FROM ${name} WHERE id = ${id}`);
  const row = sample!.results[0]!;
  const expected = erpRow(id);
  expect(row.big_text).toBe(String(expected[1]));
  expect(row.big_type).toBe('integer');
  erpColumns.slice(2).forEach((column, k) => {
    const value = expected[k + 2];
    expect(row[column], column).toBe(typeof value === 'boolean' ? Number(value) : value);
  });
}

/** A SQL file of literal statements, as an import uploads it. */
function sqlFile(statements: readonly (string | D1Statement)[]): string {
  return statements.map((s) => `${typeof s === 'string' ? s : s.sql};`).join('\n');
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

async function tableExists(name: string): Promise<boolean> {
  const [result] = await db.query<{ n: number }>('SELECT count(*) AS n FROM sqlite_master WHERE type = ? AND name = ?', ['table', name]);
  return result!.results[0]!.n === 1;
}

/** Calls D1's import endpoint directly, to send what the client never would. */
async function importApi(body: object): Promise<{ status: number; json: { success?: boolean; result?: Record<string, unknown> | null } }> {
  const response = await request(`${target.baseUrl}/accounts/${target.accountId}/d1/database/${target.databaseId}/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.statusCode, json: (await response.body.json()) as { success?: boolean; result?: Record<string, unknown> | null } };
}

/** Follows an ingest answer until the import ends: refused (HTTP error, `success: false`, status error) or complete. */
async function importEnd(answer: Awaited<ReturnType<typeof importApi>>): Promise<'refused' | 'complete'> {
  for (let polls = 0; polls < 120; polls++) {
    const result = answer.json.result;
    if (answer.status !== 200 || answer.json.success === false || result?.success === false || result?.status === 'error') return 'refused';
    if (result?.status === 'complete') return 'complete';
    await sleep(500);
    answer = await importApi({ action: 'poll', current_bookmark: result?.at_bookmark });
  }
  throw new Error('import neither refused nor complete after 60 s');
}

describe(`D1 conformance (${live ? 'Cloudflare' : 'local D1 service'})`, () => {
  it('accepts 100 bound parameters in a 100-column table and rejects 101 as D1SqlError', async () => {
    const t = table('params');
    const columns = Array.from({ length: D1_MAX_BOUND_PARAMS }, (_, i) => `c${i}`);
    await db.query(`CREATE TABLE ${t} (${columns.join(', ')})`);
    const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
    await db.query(`INSERT INTO ${t} VALUES (${placeholders(100)})`, columns.map((_, i) => i));
    expect(await count(t)).toBe(1);

    const err = await rejection(db.query(`SELECT ${placeholders(101)}`, Array.from({ length: 101 }, (_, i) => i)));
    expect(err.type).toBe('D1SqlError');
  });

  it('rejects a 101-column table', async () => {
    const columns = Array.from({ length: 101 }, (_, i) => `c${i}`);
    const err = await rejection(db.query(`CREATE TABLE ${table('wide')} (${columns.join(', ')})`));
    expect(err.type).toBe('D1SqlError');
  });

  it('accepts a 100,000-byte statement and rejects a 100,001-byte one as D1SqlError', async () => {
    const statement = (bytes: number): string => `SELECT '${'x'.repeat(bytes - 14)}' AS v`; // 14 bytes of SQL around the text
    expect(Buffer.byteLength(statement(D1_MAX_STATEMENT_BYTES))).toBe(D1_MAX_STATEMENT_BYTES);
    const [ok] = await db.query<{ v: string }>(statement(D1_MAX_STATEMENT_BYTES));
    expect(ok!.results[0]!.v).toHaveLength(D1_MAX_STATEMENT_BYTES - 14);

    const err = await rejection(db.query(statement(D1_MAX_STATEMENT_BYTES + 1)));
    expect(err.type).toBe('D1SqlError');
  });

  it('counts the statement limit in UTF-8 bytes: 100,001 bytes of € (≈33,000 characters) are rejected', async () => {
    const text = '€'.repeat((D1_MAX_STATEMENT_BYTES + 1 - 14) / 3); // 33,329 × 3 bytes
    const sql = `SELECT '${text}' AS v`;
    expect(Buffer.byteLength(sql)).toBe(D1_MAX_STATEMENT_BYTES + 1);
    const err = await rejection(db.query(sql));
    expect(err.type).toBe('D1SqlError');
  });

  it('rejects BEGIN as D1SqlError', async () => {
    const err = await rejection(db.query('BEGIN'));
    expect(err.type).toBe('D1SqlError');
  });

  it('leaves no trace of a batch whose last statement fails (prepare-time and run-time errors)', async () => {
    const t = table('atomic');
    await db.query(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`);
    const insert = (id: number) => ({ sql: `INSERT INTO ${t} (id, v) VALUES (?, ?)`, params: [id, `ligne ${id}`] });

    const missingTable = await rejection(db.batch([insert(1), insert(2), { sql: `INSERT INTO ${t}_absent VALUES (3)` }]));
    expect(missingTable.type).toBe('D1SqlError');
    expect(await count(t)).toBe(0);

    const duplicateKey = await rejection(db.batch([insert(10), insert(11), insert(10)]));
    expect(duplicateKey.type).toBe('D1SqlError');
    expect(await count(t)).toBe(0);
  });

  it('restores to a bookmark, and restoring the returned previous_bookmark brings the change back', async () => {
    const t = table('time_travel');
    await db.batch([
      { sql: `CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT)` },
      { sql: `INSERT INTO ${t} VALUES (1, 'avant'), (2, 'avant')` },
    ]);
    const values = async (): Promise<string[]> =>
      (await db.query<{ v: string }>(`SELECT v FROM ${t} ORDER BY id`))[0]!.results.map((r) => r.v);

    const before = await db.bookmark();
    await db.batch([{ sql: `DELETE FROM ${t}` }, { sql: `INSERT INTO ${t} VALUES (3, 'après')` }]);
    expect(await values()).toEqual(['après']);

    const restored = await db.restore({ bookmark: before });
    expect(await values()).toEqual(['avant', 'avant']);
    expect(restored.previousBookmark > before).toBe(true);

    await db.restore({ bookmark: restored.previousBookmark });
    expect(await values()).toEqual(['après']);
  });

  it('gives bookmarks that sort lexicographically by time', async () => {
    const t = table('bookmarks');
    await db.query(`CREATE TABLE ${t} (id INTEGER)`);
    const b1 = await db.bookmark();
    await db.query(`INSERT INTO ${t} VALUES (1)`);
    const b2 = await db.bookmark();
    const between = new Date();
    await db.query(`INSERT INTO ${t} VALUES (2)`);
    const b3 = await db.bookmark();

    expect(b1 < b2 && b2 < b3).toBe(true);
    expect([b3, b1, b2].sort()).toEqual([b1, b2, b3]);
    expect((await db.bookmark(between)) <= b3).toBe(true);
  });

  describe('retries injected faults to success, rows exactly once', () => {
    const rows = Array.from({ length: 25 }, (_, i) => erpRow(i));

    async function loadWithFault(fault: object, overrides: Partial<D1ClientOptions> = {}) {
      const t = table('fault');
      await db.query(`CREATE TABLE ${t} (${erpColumns.map((c) => `"${c}"`).join(', ')})`);
      await localAdmin('POST', '/__local/faults', fault);
      const retries: D1RetryInfo[] = [];
      const started = Date.now();
      await client({ ...overrides, onRetry: (info) => retries.push(info) }).batch(
        packInserts({ table: t, columns: erpColumns, rows, mode: 'bound' }),
      );
      return { retries, elapsedMs: Date.now() - started, rowCount: await count(t) };
    }

    it.skipIf(live)(`429 with Retry-After: 1 ${localOnly}`, async () => {
      const { retries, elapsedMs, rowCount } = await loadWithFault({ kind: '429', count: 1, retryAfterSeconds: 1 });
      expect(retries).toMatchObject([{ reason: 'rate-limited', status: 429 }]);
      expect(elapsedMs).toBeGreaterThanOrEqual(1000);
      expect(rowCount).toBe(rows.length);
    });

    it.skipIf(live)(`500, twice ${localOnly}`, async () => {
      const { retries, rowCount } = await loadWithFault({ kind: '500', count: 2 });
      expect(retries).toMatchObject([{ reason: 'server-error', status: 500 }, { reason: 'server-error', status: 500 }]);
      expect(rowCount).toBe(rows.length);
    });

    it.skipIf(live)(`a request that hangs (client timeout 1 s) ${localOnly}`, async () => {
      const { retries, rowCount } = await loadWithFault({ kind: 'hang', count: 1 }, { timeoutMs: 1000 });
      expect(retries).toMatchObject([{ reason: 'timeout' }]);
      expect(rowCount).toBe(rows.length);
    });
  });

  it('refuses a wrong token with D1AuthError whose message does not contain it', async () => {
    const wrongToken = randomBytes(30).toString('base64url').slice(0, 40); // the shape of a real token
    const err = await rejection(client({ apiToken: wrongToken, retry: { maxAttempts: 2 } }).query('SELECT 1'));
    expect(err.type).toBe('D1AuthError');
    for (const text of [err.message, JSON.stringify(err), String(err.stack)]) {
      expect(text).not.toContain(wrongToken);
      expect(text).not.toContain(target.apiToken);
    }
  });

  it.each(['literal', 'bound'] as const)('loads 2,000 wide realistic rows packed in %s mode, all of them, intact', async (mode) => {
    const t = table(`pack_${mode}`);
    await createErpTable(t);
    const rows = Array.from({ length: 2000 }, (_, i) => erpRow(i));
    const batches = packBatches(packInserts({ table: t, columns: erpColumns, rows, mode, verb: 'INSERT OR IGNORE' }));
    for (const batch of batches) await db.batch(batch);

    expect(await count(t)).toBe(2000);
    await expectErpRowIntact(t, 1234);
  });

  describe('bulk import (init, upload, ingest, poll)', () => {
    // Cloudflare does not document how a failed import words its error, so the failing
    // statement's position is asserted against the local service only.
    it('imports 3,000 wide realistic rows in multi-row literal INSERTs: every row exactly once, intact', async () => {
      const t = table('import');
      await createErpTable(t);
      const statements = packInserts({ table: t, columns: erpColumns, rows: Array.from({ length: 3000 }, (_, i) => erpRow(i)), mode: 'literal' });
      expect(statements.length).toBeGreaterThan(10);

      const result = await db.import(sqlFile(statements));
      expect(result.numQueries).toBe(statements.length);
      expect(result.finalBookmark > result.atBookmark).toBe(true);
      const [ids] = await db.query<{ n: number; distinct_ids: number; low: number; high: number }>(
        `SELECT count(*) AS n, count(DISTINCT id) AS distinct_ids, min(id) AS low, max(id) AS high FROM ${t}`,
      );
      expect(ids!.results[0]).toEqual({ n: 3000, distinct_ids: 3000, low: 0, high: 2999 });
      await expectErpRowIntact(t, 2345);
    });

    it.each([
      ['at run time (duplicate key)', (t: string) => `INSERT INTO ${t} VALUES (12, 'import'), (1, 'doublon')`],
      ['at prepare time (missing table)', (t: string) => `INSERT INTO ${t}_absente VALUES (12, 'import')`],
    ])('leaves the database as it was when the 3rd statement fails %s, and names it', async (_, third) => {
      const t = table('import_atomic');
      const side = table('import_side');
      await db.batch([{ sql: `CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT NOT NULL)` }, { sql: `INSERT INTO ${t} VALUES (1, 'avant'), (2, 'avant')` }]);
      const before = await count(t);

      const err = await rejection(
        db.import(sqlFile([`CREATE TABLE ${side} (id INTEGER)`, `INSERT INTO ${t} VALUES (10, 'import'), (11, 'import')`, third(t), `INSERT INTO ${t} VALUES (13, 'import')`])),
      );
      expect(err.type).toBe('D1SqlError');
      expect(await count(t)).toBe(before);
      expect(await tableExists(side)).toBe(false);
      if (!live) {
        expect(err).toMatchObject({ statementIndex: 2 });
        expect(err.message).toContain('statement 3 of 4');
      }
    });

    it('refuses a statement over 100,000 bytes and applies none of the others', async () => {
      const t = table('import_long');
      await db.query(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT)`);
      const long = `INSERT INTO ${t} VALUES (2, '${'x'.repeat(D1_MAX_STATEMENT_BYTES)}')`;

      const err = await rejection(db.import(sqlFile([`INSERT INTO ${t} VALUES (1, 'court')`, long])));
      expect(err.type).toBe('D1SqlError');
      expect(await count(t)).toBe(0);
      if (!live) expect(err).toMatchObject({ statementIndex: 1, d1Message: expect.stringContaining('too long') });
    });

    it('refuses BEGIN … COMMIT and applies nothing', async () => {
      const t = table('import_begin');
      await db.query(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY)`);

      const err = await rejection(db.import(sqlFile(['BEGIN TRANSACTION', `INSERT INTO ${t} VALUES (1)`, 'COMMIT'])));
      expect(err.type).toBe('D1SqlError');
      expect(await count(t)).toBe(0);
      if (!live) expect(err).toMatchObject({ statementIndex: 0, d1Message: expect.stringContaining('BEGIN is not allowed') });
    });

    it('refuses to ingest uploaded bytes whose md5 is not the etag', async () => {
      const t = table('import_etag');
      await db.query(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY)`);
      const announced = sqlFile([`INSERT INTO ${t} VALUES (1)`]);
      const uploaded = sqlFile([`INSERT INTO ${t} VALUES (1), (2)`]);

      const init = await importApi({ action: 'init', etag: md5(announced) });
      expect(init.status).toBe(200);
      const { upload_url: uploadUrl, filename } = init.json.result as { upload_url: string; filename: string };
      const put = await request(uploadUrl, { method: 'PUT', body: uploaded }); // presigned: no token
      await put.body.text();
      // R2 may refuse the bytes at once; if it stores them, ingest must refuse them.
      if (put.statusCode === 200) {
        if (!live) expect(put.headers.etag).toBe(`"${md5(uploaded)}"`);
        const ingest = await importApi({ action: 'ingest', etag: md5(announced), filename });
        expect(await importEnd(ingest)).toBe('refused');
        if (!live) expect(ingest.json.result).toMatchObject({ success: false, error: expect.stringContaining(md5(uploaded)) });
      }
      expect(await count(t)).toBe(0);
    });

    it.skipIf(live)(`retries a 429 on init, a 500 on the upload and a lost ingest answer: rows exactly once ${localOnly}`, async () => {
      const t = table('import_faults');
      await createErpTable(t);
      const statements = packInserts({ table: t, columns: erpColumns, rows: Array.from({ length: 500 }, (_, i) => erpRow(i)), mode: 'literal' });
      await localAdmin('POST', '/__local/faults', { kind: '429', count: 1, retryAfterSeconds: 1, match: '"action":"init"' });
      await localAdmin('POST', '/__local/faults', { kind: '500', count: 1, match: 'import-upload' });
      await localAdmin('POST', '/__local/faults', { kind: 'hang-after', count: 1, match: '"action":"ingest"' });

      const retries: D1RetryInfo[] = [];
      const result = await client({ timeoutMs: 2000, onRetry: (info) => retries.push(info) }).import(sqlFile(statements), { pollIntervalMs: 100 });
      expect(retries.map((r) => r.reason)).toEqual(['rate-limited', 'server-error', 'timeout']);
      expect(result.numQueries).toBe(statements.length);
      expect(await count(t)).toBe(500);
    });
  });
});
