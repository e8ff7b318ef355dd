/**
 * Schema conformance: the local D1 service answers, and the client asks, in the shapes of
 * Cloudflare's published D1 schema (d1/local-service/schema/d1-openapi.json, pinned). In test mode
 * the service checks every D1 API message and fails its close() with what it found; every service
 * the tests start runs so (test/global-setup.ts, test/support/warehouse.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nonRetryableD1ErrorTypes } from '../../common/d1-error-types.ts';
import { createD1Client, type D1Client } from '../../d1/client.ts';
import { D1Conformance } from '../../d1/local-service/conformance.ts';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';
import { d1Paths, vendorD1Schema } from '../../scripts/vendor-d1-schema.ts';

const queryPath = '/accounts/acc/d1/database/db/query';
const envelope = (result: unknown) => ({ success: true, errors: [], messages: [], result });

describe('the D1 schema validator', () => {
  const conformance = new D1Conformance();

  it('accepts the answers D1 gives: a query result, a raw result with NULLs, a 429 with code 971, an active import', () => {
    const meta = { changes: 1, last_row_id: 3, rows_read: 0, rows_written: 1, duration: 0.2, changed_db: true, size_after: 8192, served_by_region: 'WEUR' };
    expect(conformance.check({ direction: 'response', method: 'POST', path: queryPath, status: 200, body: envelope([{ success: true, results: [{ a: null }], meta }]) })).toEqual([]);
    const raw = envelope([{ success: true, results: { columns: ['a', 'b'], rows: [[1, null]] }, meta }]);
    expect(conformance.check({ direction: 'response', method: 'POST', path: '/accounts/acc/d1/database/db/raw', status: 200, body: raw })).toEqual([]);
    const limited = { success: false, errors: [{ code: 971, message: 'Please wait and consider throttling your request speed' }], messages: [], result: null };
    expect(conformance.check({ direction: 'response', method: 'POST', path: queryPath, status: 429, body: limited })).toEqual([]);
    const active = envelope({ success: true, type: 'import', status: 'active', at_bookmark: 'b', messages: [] });
    expect(conformance.check({ direction: 'response', method: 'POST', path: '/accounts/acc/d1/database/db/import', status: 202, body: active })).toEqual([]);
  });

  it('names where a wrong answer departs from the schema', () => {
    const wrong = { success: true, messages: [], result: [{ success: 'yes', results: [], meta: { changes: '1' } }] };
    const violations = conformance.check({ direction: 'response', method: 'POST', path: queryPath, status: 200, body: wrong });
    expect(violations).toEqual(
      expect.arrayContaining([
        { at: '', message: expect.stringMatching(/must have required property 'errors'/) },
        { at: '/result/0/success', message: expect.stringMatching(/must be boolean/) },
        { at: '/result/0/meta/changes', message: expect.stringMatching(/must be number/) },
      ]),
    );
  });

  it('refuses a failure envelope without an error, an active import answered 200, and a restore answer without string bookmarks', () => {
    const noError = { success: false, errors: [], messages: [], result: null };
    expect(conformance.check({ direction: 'response', method: 'POST', path: queryPath, status: 400, body: noError })).toEqual([
      { at: '/errors', message: expect.stringMatching(/must NOT have fewer than 1 items/) },
    ]);
    const active = envelope({ success: true, type: 'import', status: 'active', at_bookmark: 'b' });
    expect(conformance.check({ direction: 'response', method: 'POST', path: '/accounts/acc/d1/database/db/import', status: 200, body: active })).toEqual([
      { at: '/result/status', message: expect.stringMatching(/allowed values.*complete.*error/) },
    ]);
    const restore = envelope({ bookmark: 42, previous_bookmark: null, message: 'Restored' });
    const restoreViolations = conformance.check({ direction: 'response', method: 'POST', path: '/accounts/acc/d1/database/db/time_travel/restore', status: 200, body: restore });
    expect(restoreViolations.map((v) => v.at).sort()).toEqual(['/result/bookmark', '/result/previous_bookmark']);
  });

  it('refuses a status the schema does not describe, a success on a path D1 does not serve, and malformed request bodies', () => {
    expect(conformance.check({ direction: 'response', method: 'POST', path: queryPath, status: 202, body: envelope([]) })).toEqual([
      { at: '', message: 'status 202 is not an answer the schema describes for POST /accounts/{account_id}/d1/database/{database_id}/query' },
    ]);
    expect(conformance.check({ direction: 'response', method: 'POST', path: '/accounts/acc/d1/database/db/execute', status: 200, body: envelope([]) })).toEqual([
      { at: '', message: expect.stringMatching(/is not a D1 operation of the schema/) },
    ]);
    expect(conformance.check({ direction: 'request', method: 'POST', path: queryPath, body: { batch: [{ sql: 'SELECT ?', params: [true] }] } })).toEqual(
      expect.arrayContaining([{ at: '/batch/0/params/0', message: expect.stringMatching(/must be (string|number)/) }]),
    );
    expect(conformance.check({ direction: 'request', method: 'POST', path: '/accounts/acc/d1/database/db/import', body: { action: 'ingest', etag: 'e' } })).not.toEqual([]);
    expect(conformance.check({ direction: 'request', method: 'POST', path: queryPath, body: undefined })).toEqual([
      { at: '', message: 'POST /accounts/{account_id}/d1/database/{database_id}/query requires a request body' },
    ]);
  });
});

describe('the vendored schema', () => {
  it('is pinned to a commit of cloudflare/api-schemas, holds the five D1 paths, and is what the script makes of it (no patch left to apply)', async () => {
    const vendored = JSON.parse(await readFile(new URL('../../d1/local-service/schema/d1-openapi.json', import.meta.url), 'utf8'));
    expect(vendored['x-vendored']).toMatchObject({ repository: 'https://github.com/cloudflare/api-schemas', file: 'openapi.json', commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(Object.keys(vendored.paths).sort()).toEqual([...d1Paths].sort());
    const again = vendorD1Schema(vendored, { commit: vendored['x-vendored'].commit, date: vendored['x-vendored'].commitDate });
    expect(again['x-vendored'].patches).toEqual([]);
    expect({ paths: again.paths, components: again.components }).toEqual({ paths: vendored.paths, components: vendored.components });
  });
});

describe('a local D1 service in conformance mode', () => {
  let service: LocalD1Service;
  let dir: string;
  let d1: D1Client;
  const api = (path: string) => `${service.url}/accounts/${service.accountId}/d1/database/${service.databaseId}${path}`;
  const post = async (url: string, body: unknown, token = service.apiToken) => {
    const response = await request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.statusCode, body: (await response.body.json()) as { success: boolean; result: Record<string, unknown> | null; errors: { code: number; message: string }[] } };
  };
  const fault = (body: unknown) => request(`${service.origin}/__local/faults`, { method: 'POST', headers: { authorization: `Bearer ${service.apiToken}` }, body: JSON.stringify(body) }).then((r) => r.body.text());

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sodimo-schema-'));
    service = await startLocalD1Service({ dataDir: dir, apiToken: randomBytes(8).toString('hex'), conformance: 'collect' });
    d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken, retries: 'unsent-only' });
  });
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers query, raw, batch, Time Travel, an import, a 429, D1 errors, a 404 and a 403 inside the schema, and the client asks inside it', async () => {
    await d1.query('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, amount REAL)');
    await d1.batch([
      { sql: 'INSERT INTO t VALUES (?, ?, ?)', params: [1, 'Île', 2.5] },
      { sql: 'INSERT INTO t VALUES (?, ?, ?)', params: [2, null, true] },
    ]);
    expect(await d1.raw('SELECT id, name FROM t ORDER BY id')).toMatchObject([{ rows: [[1, 'Île'], [2, null]] }]);
    const bookmark = await d1.bookmark();
    await d1.bookmark(new Date());
    expect(await d1.restore({ bookmark })).toMatchObject({ previousBookmark: expect.any(String) });
    expect(await d1.import("INSERT INTO t VALUES (3, 'import', 1.0);")).toMatchObject({ numQueries: 1 });

    await fault({ kind: '429', retryAfterSeconds: 1 });
    await expect(d1.query('SELECT 1')).rejects.toMatchObject({ type: 'D1RateLimited' });
    await fault({ kind: 'd1-error', code: 7429, message: 'D1 DB is overloaded. Too many requests queued.' });
    await expect(d1.query('SELECT 1')).rejects.toMatchObject({ type: 'D1Transient' });
    await fault({ kind: '500' });
    await expect(d1.query('SELECT 1')).rejects.toMatchObject({ type: 'D1Unavailable' });
    await expect(d1.query('SELECT * FROM missing')).rejects.toMatchObject({ type: 'D1SqlError' });
    await expect(d1.restore({ bookmark: '00000000-00000000-00000000-00000000000000000000000000000000' })).rejects.toThrow(/unknown bookmark/);

    const wrongDatabase = await post(`${service.url}/accounts/${service.accountId}/d1/database/not-this-one/query`, { sql: 'SELECT 1' });
    expect(wrongDatabase).toMatchObject({ status: 404, body: { success: false, result: null, errors: [{ code: 7404 }] } });
    const wrongToken = await post(api('/query'), { sql: 'SELECT 1' }, 'not-the-token');
    expect(wrongToken).toMatchObject({ status: 403, body: { success: false, errors: [{ code: 10000 }] } });

    const state = service.conformance!.state();
    expect(state.findings).toEqual([]);
    expect(state.violations).toBe(0);
    expect(state.messages).toBeGreaterThanOrEqual(30); // each request and each answer above
  });

  it('refuses queries while an import runs, with a 503 the client retries (D1 serves no queries meanwhile), then serves them again', async () => {
    await d1.query('CREATE TABLE big (id INTEGER PRIMARY KEY, filler TEXT)');
    // 60 multi-row statements of 1,500 rows: an import that runs for a second or two.
    const rows = (s: number) => Array.from({ length: 1500 }, (_, i) => `(${s * 1500 + i}, '${'x'.repeat(40)}')`).join(', ');
    const sql = Array.from({ length: 60 }, (_, s) => `INSERT INTO big VALUES ${rows(s)};`).join('\n');
    const etag = createHash('md5').update(sql).digest('hex');
    const init = await post(api('/import'), { action: 'init', etag });
    const upload = await request(String(init.body.result!.upload_url), { method: 'PUT', body: sql });
    expect(upload.statusCode).toBe(200);
    await upload.body.text();
    const ingest = await post(api('/import'), { action: 'ingest', etag, filename: init.body.result!.filename });
    expect(ingest).toMatchObject({ status: 202, body: { result: { status: 'active', at_bookmark: expect.any(String) } } });

    const refused = await d1.query('SELECT COUNT(*) AS n FROM big').then(
      () => undefined,
      (error: unknown) => error as { type: string; message: string },
    );
    expect(refused?.type).toBe('D1Unavailable');
    expect(nonRetryableD1ErrorTypes).not.toContain(refused?.type);
    expect(refused?.message).toMatch(/HTTP 503.*an import is running/);

    let poll = ingest;
    while (poll.status === 202) {
      await sleep(100);
      poll = await post(api('/import'), { action: 'poll', current_bookmark: ingest.body.result!.at_bookmark });
    }
    expect(poll).toMatchObject({ status: 200, body: { result: { status: 'complete', result: { num_queries: 60 } } } });
    expect(await d1.query<{ n: number }>('SELECT COUNT(*) AS n FROM big')).toMatchObject([{ results: [{ n: 90_000 }] }]);
    expect(service.conformance!.state().violations).toBe(0);
  }, 180_000);

  it('fails its close() with the route, the body and the rule when a message broke the schema', async () => {
    const strayDir = await mkdtemp(join(tmpdir(), 'sodimo-schema-stray-'));
    const stray = await startLocalD1Service({ dataDir: strayDir, apiToken: 'token', conformance: 'collect' });
    try {
      const response = await request(`${stray.url}/accounts/${stray.accountId}/d1/database/${stray.databaseId}/query`, {
        method: 'POST',
        headers: { authorization: 'Bearer token' },
        body: JSON.stringify({ sql: 42 }),
      });
      expect(response.statusCode).toBe(400); // the service refuses it, as D1 would; the request itself is the violation
      await response.body.text();
    } finally {
      await expect(stray.close()).rejects.toThrow(
        /outside Cloudflare.s D1 schema: \d+ violation\(s\).*\n- request POST \/accounts\/local-account\/d1\/database\/local-warehouse\/query: \{"sql":42\}\n {4}at "\/sql": must be string/s,
      );
      await rm(strayDir, { recursive: true, force: true });
    }
  });
});
