import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createD1Client, type D1ClientOptions, type D1RetryInfo } from '../../d1/client.ts';
import { ApplicationFailure, CancelledFailure, DefaultFailureConverter, defaultPayloadConverter } from '@temporalio/common';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { MockActivityEnvironment } from '@temporalio/testing';
import { D1_ERROR_TYPES, D1Error, isRetryable, nonRetryableD1ErrorTypes } from '../../d1/errors.ts';
import { backfillActivity, fetchActivity, longActivity, shortActivity } from '../../workflows/activity-profiles.ts';

/** What the scripted server saw. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** What the scripted server answers; `hang` never answers. */
type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang';

const TOKEN = 'tok_SECRET_0123456789abcdef';
const ok = (result: unknown): Reply => ({ status: 200, body: { success: true, errors: [], messages: [], result } });
const fail = (status: number, code: number, message: string, headers?: Record<string, string>): Reply => ({
  status,
  body: { success: false, errors: [{ code, message }], messages: [], result: null },
  headers,
});
const meta = { changes: 1, last_row_id: 7, rows_read: 0, rows_written: 1, duration: 0.2, served_by: 'test' };

let server: Server;
let baseUrl: string;
let script: (Reply | ((seen: Seen) => Reply))[] = [];
let seen: Seen[] = [];
const hanging: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const entry: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: text ? JSON.parse(text) : undefined };
      seen.push(entry);
      const next = script.shift() ?? ok([]);
      const reply = typeof next === 'function' ? next(entry) : next;
      if (reply === 'hang') return void hanging.push(res);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  script = [];
  seen = [];
});

function client(overrides: Partial<D1ClientOptions> = {}) {
  return createD1Client({
    baseUrl,
    accountId: 'acct1',
    databaseId: 'db1',
    apiToken: TOKEN,
    timeoutMs: 2_000,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    ...overrides,
  });
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

function expectNoToken(err: D1Error): void {
  for (const text of [err.message, err.stack ?? '', JSON.stringify(err), JSON.stringify(err.cause ?? null), inspect(err, { depth: 10 }), String(err)]) {
    expect(text).not.toContain(TOKEN);
  }
}

describe('requests', () => {
  it('query posts {sql, params} with the bearer token and returns typed results', async () => {
    script = [ok([{ success: true, results: [{ id: 1, name: 'Crème' }], meta }])];
    const results = await client().query<{ id: number; name: string }>('SELECT * FROM t WHERE a = ? AND b = ? AND c = ?', [
      2n ** 60n,
      true,
      'x',
    ]);
    expect(results[0]!.results[0]!.name).toBe('Crème');
    expect(results[0]!.meta.changes).toBe(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/client/v4/accounts/acct1/d1/database/db1/query',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: { sql: 'SELECT * FROM t WHERE a = ? AND b = ? AND c = ?', params: ['1152921504606846976', 1, 'x'] },
    });
  });

  it('batch posts {batch: [...]}; an empty batch sends nothing', async () => {
    script = [ok([{ success: true, results: [], meta }, { success: true, results: [{ n: 2 }], meta }])];
    const results = await client().batch([{ sql: 'INSERT INTO t VALUES (?)', params: [1] }, { sql: 'SELECT count(*) AS n FROM t' }]);
    expect(results.map((r) => r.results)).toEqual([[], [{ n: 2 }]]);
    expect(seen[0]!.body).toEqual({ batch: [{ sql: 'INSERT INTO t VALUES (?)', params: [1] }, { sql: 'SELECT count(*) AS n FROM t', params: [] }] });
    expect(await client().batch([])).toEqual([]);
    expect(seen).toHaveLength(1);
  });

  it('first answers the first row or undefined, scalar its first column; both are one /query request with its retries', async () => {
    script = [ok([{ success: true, results: [{ n: 3, other: 'x' }, { n: 4, other: 'y' }], meta }]), ok([{ success: true, results: [], meta }])];
    expect(await client().first('SELECT n, other FROM t WHERE a = ?', [1])).toEqual({ n: 3, other: 'x' });
    expect(await client().first('SELECT n FROM t WHERE a = ?', [2])).toBeUndefined();
    expect(seen.map((s) => s.body)).toEqual([{ sql: 'SELECT n, other FROM t WHERE a = ?', params: [1] }, { sql: 'SELECT n FROM t WHERE a = ?', params: [2] }]);
    script = [fail(503, 7500, 'busy'), ok([{ success: true, results: [{ n: 0 }], meta }]), ok([{ success: true, results: [], meta }])];
    expect(await client().scalar('SELECT count(*) AS n FROM t')).toBe(0);
    expect(await client().scalar('SELECT n FROM t WHERE 0')).toBeUndefined();
    expect(seen).toHaveLength(5);
  });

  it('raw posts to /raw and returns columns and rows', async () => {
    script = [ok([{ success: true, results: { columns: ['a', 'b'], rows: [[1, 'x']] }, meta }])];
    const [result] = await client().raw('SELECT 1 AS a, ? AS b', ['x']);
    expect(result).toMatchObject({ columns: ['a', 'b'], rows: [[1, 'x']] });
    expect(seen[0]!.url).toBe('/client/v4/accounts/acct1/d1/database/db1/raw');
  });

  it('bookmark and restore use the time_travel endpoints', async () => {
    script = [
      ok({ bookmark: 'b1' }),
      ok({ bookmark: 'b0' }),
      ok({ bookmark: 'b0', previous_bookmark: 'b2', message: 'Restored' }),
    ];
    const c = client();
    expect(await c.bookmark()).toBe('b1');
    expect(await c.bookmark(new Date('2026-11-20T10:00:00Z'))).toBe('b0');
    expect(await c.restore({ bookmark: 'b0' })).toEqual({ bookmark: 'b0', previousBookmark: 'b2', message: 'Restored' });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /client/v4/accounts/acct1/d1/database/db1/time_travel/bookmark',
      'GET /client/v4/accounts/acct1/d1/database/db1/time_travel/bookmark?timestamp=2026-11-20T10%3A00%3A00.000Z',
      'POST /client/v4/accounts/acct1/d1/database/db1/time_travel/restore?bookmark=b0',
    ]);
  });
});

describe('retries', () => {
  it('honours Retry-After on 429 (waits at least that long), then succeeds', async () => {
    const retries: D1RetryInfo[] = [];
    script = [fail(429, 971, 'rate limited', { 'retry-after': '1' }), ok([{ success: true, results: [], meta }])];
    const started = Date.now();
    await client({ onRetry: (info) => retries.push(info) }).query('SELECT 1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(retries).toMatchObject([{ operation: 'query', attempt: 1, reason: 'rate-limited', status: 429 }]);
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(1000);
    expect(seen).toHaveLength(2);
  });

  it('retries 5xx with growing, capped, jittered backoff', async () => {
    const delays: number[] = [];
    script = [...Array.from({ length: 4 }, () => fail(500, 7000, 'internal')), { status: 502, body: '<html>bad gateway</html>' }, ok([])];
    await client({ retry: { baseDelayMs: 20, maxDelayMs: 60 }, onRetry: (i) => delays.push(i.delayMs) }).query('SELECT 1');
    expect(delays).toHaveLength(5);
    const caps = [20, 40, 60, 60, 60];
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(caps[i]! / 2);
      expect(d).toBeLessThanOrEqual(caps[i]!);
    });
  });

  it('retries a request that never answers (timeout), then succeeds', async () => {
    const reasons: string[] = [];
    script = ['hang', ok([{ success: true, results: [{ n: 1 }], meta }])];
    const [result] = await client({ timeoutMs: 200, onRetry: (i) => reasons.push(i.reason) }).query('SELECT 1 AS n');
    expect(result!.results).toEqual([{ n: 1 }]);
    expect(reasons).toEqual(['timeout']);
  });

  it('gives up after maxAttempts with D1RateLimited carrying retryAfterMs', async () => {
    script = Array.from({ length: 3 }, () => fail(429, 971, 'slow down', { 'retry-after': '0' }));
    const err = await rejection(client({ retry: { maxAttempts: 3, baseDelayMs: 1 } }).batch([{ sql: 'SELECT 1' }]));
    expect(err).toMatchObject({ type: 'D1RateLimited', retryAfterMs: 0, attempts: 3, status: 429, operation: 'batch' });
    expect(isRetryable(err)).toBe(true);
    expect(seen).toHaveLength(3);
  });

  it('does not wait out a Retry-After above maxRetryAfterMs', async () => {
    script = [fail(429, 971, 'come back later', { 'retry-after': '120' })];
    const err = await rejection(client().query('SELECT 1'));
    expect(err).toMatchObject({ type: 'D1RateLimited', retryAfterMs: 120_000, attempts: 1 });
  });

  it('gives up on persistent 5xx with D1Unavailable', async () => {
    script = Array.from({ length: 2 }, () => fail(503, 7000, 'overloaded'));
    const err = await rejection(client({ retry: { maxAttempts: 2, baseDelayMs: 1 } }).query('SELECT 1'));
    expect(err).toMatchObject({ type: 'D1Unavailable', reason: 'http', status: 503, attempts: 2 });
    expect(err.message).toContain('/accounts/acct1/d1/database/db1/query');
    expect(isRetryable(err)).toBe(true);
  });

  it('maps connection errors to D1Unavailable with a sanitised cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const c = client({ baseUrl: `http://127.0.0.1:${port}/client/v4`, retry: { maxAttempts: 2, baseDelayMs: 1 } });
    const err = await rejection(c.query('SELECT 1'));
    expect(err).toMatchObject({ type: 'D1Unavailable', reason: 'connection', attempts: 2, cause: { code: 'ECONNREFUSED' } });
    expectNoToken(err);
  });
});

describe('permanent errors', () => {
  it('maps HTTP 400 / 7500 to D1SqlError without retrying', async () => {
    script = [fail(400, 7500, 'near "BEGN": syntax error at offset 0: SQLITE_ERROR')];
    const err = await rejection(client().batch([{ sql: 'BEGN' }]));
    expect(err).toMatchObject({ type: 'D1SqlError', code: 7500, status: 400, statementIndex: 0, d1Message: expect.stringContaining('syntax error') });
    expect(err.message).toMatch(/^D1 batch \/accounts\/acct1\/d1\/database\/db1\/query: SQL rejected/);
    expect(isRetryable(err)).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it.each([401, 403])('maps HTTP %i to D1AuthError without retrying', async (status) => {
    script = [fail(status, 10000, 'Authentication error')];
    const err = await rejection(client().query('SELECT 1'));
    expect(err).toMatchObject({ type: 'D1AuthError', status });
    expect(isRetryable(err)).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it('maps an auth error code to D1AuthError even on HTTP 400 (malformed or unknown token)', async () => {
    script = [fail(400, 6003, 'Invalid request headers')];
    const err = await rejection(client().query('SELECT 1'));
    expect(err).toMatchObject({ type: 'D1AuthError', status: 400 });
  });

  it('maps a 400 outside the SQL endpoints (unknown bookmark) to D1RequestInvalid, not D1SqlError', async () => {
    script = [fail(400, 7400, 'unknown bookmark: nope')];
    const err = await rejection(client().restore({ bookmark: 'nope' }));
    expect(err).toMatchObject({ type: 'D1RequestInvalid', status: 400, operation: 'restore', code: 7400, nonRetryable: true });
    expect(err.message).toContain('unknown bookmark');
    expect(isRetryable(err)).toBe(false);
  });

  it('maps a non-SQL 400 on /query (code 7400, malformed request) to D1RequestInvalid naming what to check', async () => {
    script = [fail(400, 7400, 'The request is malformed: failed to decode u8')];
    const err = await rejection(client().query('SELECT 1'));
    expect(err).toMatchObject({ type: 'D1RequestInvalid', status: 400, code: 7400 });
    expect(err.message).toContain('D1_DATABASE_ID');
    expect(isRetryable(err)).toBe(false);
    expect(seen).toHaveLength(1);
  });

  it.each<[string, Reply]>([
    ['an unknown database (404, 7404)', fail(404, 7404, 'database not found')],
    ['an object identifier D1 cannot route (400, 7003)', fail(400, 7003, 'Could not route to /client/v4/accounts/acct1/d1/database/db1/query, perhaps your object identifier is invalid?')],
  ])('maps %s to D1RequestInvalid that names the ids to check', async (_name, reply) => {
    script = [reply];
    const err = await rejection(client().query('SELECT 1'));
    expect(err.type).toBe('D1RequestInvalid');
    expect(err.message).toContain('CLOUDFLARE_ACCOUNT_ID and D1_DATABASE_ID');
    expect(seen).toHaveLength(1);
  });

  it.each<[string, Reply]>([
    ['a result of the wrong shape', ok('not an array')],
    ['a body that is not JSON', { status: 200, body: 'hello' }],
    ['success: false with another code', { status: 200, body: { success: false, errors: [{ code: 1234, message: 'odd' }], result: null } }],
  ])('maps %s to D1ResponseError (left to the activity retry policy)', async (_name, reply) => {
    script = [reply];
    const err = await rejection(client().query('SELECT 1'));
    expect(err.type).toBe('D1ResponseError');
    expect(err.nonRetryable).toBe(false);
    expect(isRetryable(err)).toBe(true);
  });

  it('attributes a per-statement failure inside a 200 to its index', async () => {
    script = [ok([{ success: true, results: [], meta }, { success: false, results: [], meta }])];
    const err = await rejection(client().batch([{ sql: 'SELECT 1' }, { sql: 'SELECT 2' }]));
    expect(err).toMatchObject({ type: 'D1SqlError', statementIndex: 1 });
  });

  it('has stable type names', () => {
    expect(D1_ERROR_TYPES).toEqual(['D1SqlError', 'D1RateLimited', 'D1Unavailable', 'D1AuthError', 'D1ResponseError', 'D1Transient', 'D1RequestInvalid']);
    expect(nonRetryableD1ErrorTypes).toEqual(['D1SqlError', 'D1AuthError', 'D1RequestInvalid']);
    expect(isRetryable(new Error('x'))).toBe(false);
    expect(isRetryable({ type: 'D1Unavailable' })).toBe(true);
  });
});

describe('the token never leaks', () => {
  const echo = (status: number, code: number) => (s: Seen): Reply => fail(status, code, `bad header ${String(s.headers.authorization)}`);

  it.each<[string, number, number]>([
    ['an SQL error', 400, 7500],
    ['an auth error', 401, 10000],
    ['a 404', 404, 7404],
  ])('not in %s that echoes the Authorization header', async (_name, status, code) => {
    script = [echo(status, code)];
    const err = await rejection(client().query('SELECT 1'));
    expect(err.message).toContain('[redacted]');
    expectNoToken(err);
  });

  it('not in an exhausted 5xx or 429 that echoes it', async () => {
    script = [echo(500, 7000), echo(500, 7000)];
    expectNoToken(await rejection(client({ retry: { maxAttempts: 2, baseDelayMs: 1 } }).query('SELECT 1')));
    script = [echo(429, 971)];
    expectNoToken(await rejection(client({ retry: { maxAttempts: 1 } }).query('SELECT 1')));
  });

  it('not in a malformed-response error or the retry log', async () => {
    const infos: D1RetryInfo[] = [];
    script = [echo(500, 7000), (s) => ({ status: 200, body: `oops ${String(s.headers.authorization)}` })];
    const err = await rejection(client({ onRetry: (i) => infos.push(i) }).query('SELECT 1'));
    expect(err.type).toBe('D1ResponseError');
    expectNoToken(err);
    expect(JSON.stringify(infos)).not.toContain(TOKEN);
    expect(infos).toHaveLength(1);
  });
});

describe('D1 as Cloudflare really fails: transient faults are classified before SQL and auth', () => {
  const once = (overrides: Partial<D1ClientOptions> = {}) => client({ retries: 'transient', retry: { maxAttempts: 1 }, ...overrides });

  it.each<[string, number, number, string]>([
    ['internal error; reference = … (7500 on HTTP 400)', 400, 7500, 'internal error; reference = 6ptpu0t2bvkkc4gr7ul1qt4e'],
    ['Network connection lost', 400, 7500, 'D1_ERROR: Network connection lost.'],
    ['storage caused object to be reset', 400, 7500, 'D1_ERROR: Internal error while starting up D1 DB storage caused object to be reset.'],
    ['reset because its code was updated', 400, 7500, 'D1_ERROR: D1 DB reset because its code was updated.'],
    ['7429 overloaded', 429, 7429, 'D1 DB is overloaded. Requests queued for too long.'],
    ['7429 overloaded on a 400', 400, 7429, 'Too many requests queued'],
    ['7403 with transient wording', 400, 7403, 'internal error; reference = abc123 (not authorized)'],
    ['a transient fault inside a 200 envelope', 200, 7500, 'Network connection lost'],
  ])('%s → D1Transient, retryable, with D1 message and code', async (_name, status, code, message) => {
    script = [fail(status, code, message)];
    const err = await rejection(once().batch([{ sql: 'INSERT INTO t VALUES (1)' }]));
    if (status === 429) {
      // A 429 is a rate limit first, whatever the code inside.
      expect(err).toMatchObject({ type: 'D1RateLimited', status: 429 });
      return;
    }
    expect(err).toMatchObject({ type: 'D1Transient', code, status, d1Message: message, nonRetryable: false });
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(isRetryable(err)).toBe(true);
  });

  it('retries a transient 7500 itself outside an activity, then succeeds', async () => {
    const reasons: string[] = [];
    script = [fail(400, 7500, 'internal error; reference = r1'), ok([{ success: true, results: [{ n: 1 }], meta }])];
    const [result] = await client({ onRetry: (i) => reasons.push(i.reason) }).query('SELECT 1 AS n');
    expect(result!.results).toEqual([{ n: 1 }]);
    expect(reasons).toEqual(['transient']);
  });

  it('keeps a genuine SQL error on HTTP 400 a D1SqlError, non-retryable', async () => {
    script = [fail(400, 7500, 'UNIQUE constraint failed: t.id: SQLITE_CONSTRAINT')];
    const err = await rejection(client().query('INSERT INTO t VALUES (1)'));
    expect(err).toMatchObject({ type: 'D1SqlError', code: 7500, nonRetryable: true });
    expect(seen).toHaveLength(1);
  });

  it('keeps a plain 7403 an auth error naming the token to check', async () => {
    script = [fail(403, 7403, 'The given account is not valid or is not authorized to access this service')];
    const err = await rejection(client().query('SELECT 1'));
    expect(err).toMatchObject({ type: 'D1AuthError', nonRetryable: true });
    expect(err.message).toContain('CLOUDFLARE_API_TOKEN');
  });

  it.each([502, 524])('maps the edge HTML page of a %i to D1Unavailable (transient)', async (status) => {
    const page = `<!DOCTYPE html><html><head><title>api.cloudflare.com | ${status}: A timeout occurred</title></head><body>…</body></html>`;
    script = [{ status, body: page, headers: { 'content-type': 'text/html; charset=UTF-8' } }];
    const err = await rejection(once().query('SELECT 1'));
    expect(err).toMatchObject({ type: 'D1Unavailable', reason: 'http', status });
    expect(err.message).toContain(`HTML error page: api.cloudflare.com | ${status}`);
    expect(isRetryable(err)).toBe(true);
  });

  it('maps a 429 with Retry-After to D1RateLimited whose nextRetryDelay Temporal honours', async () => {
    script = [fail(429, 971, 'Please wait and consider throttling your request speed', { 'retry-after': '2' })];
    const err = await rejection(client({ retries: 'unsent-only' }).query('SELECT 1'));
    expect(err).toMatchObject({ type: 'D1RateLimited', retryAfterMs: 2000, nextRetryDelay: 2000, nonRetryable: false });
    const failure = new DefaultFailureConverter().errorToFailure(err, defaultPayloadConverter);
    expect(failure.applicationFailureInfo).toMatchObject({ type: 'D1RateLimited', nonRetryable: false });
    expect(Number(failure.applicationFailureInfo?.nextRetryDelay?.seconds)).toBe(2);
    expect(seen).toHaveLength(1);
  });

  it('converts a D1SqlError into a non-retryable ApplicationFailure of its type, without the token', async () => {
    script = [fail(400, 7500, `near "BEGN": syntax error (${TOKEN})`)];
    const err = await rejection(client().query('BEGN'));
    const failure = new DefaultFailureConverter().errorToFailure(err, defaultPayloadConverter);
    expect(failure.applicationFailureInfo).toMatchObject({ type: 'D1SqlError', nonRetryable: true });
    expect(JSON.stringify(failure)).not.toContain(TOKEN);
  });
});

describe('one retry layer', () => {
  async function refusedPort(): Promise<number> {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    return port;
  }

  it.each<[string, Reply]>([
    ['a 500', fail(500, 7000, 'Internal server error')],
    ['a transient 7500', fail(400, 7500, 'internal error; reference = r2')],
    ['a 429', fail(429, 971, 'slow down', { 'retry-after': '0' })],
  ])('unsent-only surfaces %s at once (it may have been applied)', async (_name, reply) => {
    script = [reply, ok([])];
    const err = await rejection(client({ retries: 'unsent-only' }).query('SELECT 1'));
    expect(isRetryable(err)).toBe(true);
    expect(err.attempts).toBe(1);
    expect(seen).toHaveLength(1);
  });

  it('unsent-only surfaces a timeout at once: the request may have run', async () => {
    script = ['hang', ok([])];
    const err = await rejection(client({ retries: 'unsent-only', timeoutMs: 200 }).query('SELECT 1'));
    expect(err).toMatchObject({ type: 'D1Unavailable', reason: 'timeout', attempts: 1 });
  });

  it('unsent-only still retries a connection that never reached D1 (ECONNREFUSED)', async () => {
    const c = client({ baseUrl: `http://127.0.0.1:${await refusedPort()}/client/v4`, retries: 'unsent-only', retry: { maxAttempts: 3, baseDelayMs: 1 } });
    const err = await rejection(c.query('SELECT 1'));
    expect(err).toMatchObject({ type: 'D1Unavailable', reason: 'connection', attempts: 3, cause: { code: 'ECONNREFUSED' } });
  });

  it('auto leaves retries to the activity inside one, and retries itself outside', async () => {
    const env = new MockActivityEnvironment();
    script = [fail(503, 7000, 'unavailable'), ok([])];
    const inside = await env.run(() => client().query('SELECT 1').then(() => undefined, (e: unknown) => e));
    expect(inside).toMatchObject({ type: 'D1Unavailable', attempts: 1 });
    expect(seen).toHaveLength(1);

    seen = [];
    script = [fail(503, 7000, 'unavailable'), ok([{ success: true, results: [], meta }])];
    await client().query('SELECT 1');
    expect(seen).toHaveLength(2);
  });
});

describe('cancellation: an aborted call is not retried and surfaces as the cancellation', () => {
  it("a request in flight is aborted by the activity's cancellation (a worker shutting down), once, not as a D1 error", async () => {
    const env = new MockActivityEnvironment();
    script = ['hang', ok([])];
    const started = Date.now();
    const running = env.run(() => client({ timeoutMs: 20_000 }).query('SELECT 1').then(() => undefined, (e: unknown) => e));
    await new Promise((resolve) => setTimeout(resolve, 200));
    env.cancel('WORKER_SHUTDOWN');
    const error = await running;
    expect(error).toBeInstanceOf(CancelledFailure);
    expect(error).not.toBeInstanceOf(D1Error);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(seen).toHaveLength(1);
  });

  it("the client's own signal stops a backoff sleep: the retry is never sent", async () => {
    const controller = new AbortController();
    const reason = new Error('stopped by the operator');
    script = [fail(503, 7000, 'unavailable'), ok([{ success: true, results: [], meta }])];
    const c = client({ signal: controller.signal, retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 }, onRetry: () => controller.abort(reason) });
    const started = Date.now();
    await expect(c.query('SELECT 1')).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(seen).toHaveLength(1);
  });

  it('an already cancelled activity sends nothing', async () => {
    const env = new MockActivityEnvironment();
    env.cancel('WORKER_SHUTDOWN');
    const error = await env.run(() => client().query('SELECT 1').then(() => undefined, (e: unknown) => e));
    expect(error).toBeInstanceOf(CancelledFailure);
    expect(seen).toHaveLength(0);
  });
});

describe('activity retry policies outlast a five-minute 429 block', () => {
  /** Total waiting between attempts when every attempt fails and no Retry-After overrides the backoff. */
  function waitingMs(retry: { initialInterval: string; backoffCoefficient: number; maximumInterval: string; maximumAttempts?: number }): number {
    let total = 0;
    let interval = msToNumber(retry.initialInterval as Duration);
    for (let attempt = 1; attempt < (retry.maximumAttempts ?? Infinity) && attempt < 1000; attempt++) {
      total += Math.min(interval, msToNumber(retry.maximumInterval as Duration));
      interval *= retry.backoffCoefficient;
    }
    return total;
  }

  it.each([
    ['shortActivity', shortActivity],
    ['fetchActivity', fetchActivity],
    ['longActivity', longActivity],
    ['backfillActivity', backfillActivity],
  ] as const)('%s waits at least ten minutes before giving up and never retries a permanent D1 error', (_name, profile) => {
    expect(waitingMs(profile.retry)).toBeGreaterThanOrEqual(10 * 60_000);
    expect(profile.retry.nonRetryableErrorTypes).toEqual([...nonRetryableD1ErrorTypes]);
    expect(profile.retry.nonRetryableErrorTypes).not.toContain('D1RateLimited');
    expect(profile.retry.nonRetryableErrorTypes).not.toContain('D1Transient');
  });

  it('shortActivity: 15 attempts, 1 s doubling to 2 min', () => {
    expect(shortActivity.retry).toMatchObject({ initialInterval: '1 second', maximumInterval: '2 minutes', maximumAttempts: 15 });
    expect(waitingMs(shortActivity.retry)).toBe(967_000);
  });
});
