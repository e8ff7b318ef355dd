import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createD1Client, type D1Client } from '../../d1/client.ts';
import type { RandomFaultStats } from '../../d1/local-service/random-faults.ts';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';

/** Random mode through the local service's HTTP API: every D1 route draws, queued faults come first. */
describe("the local D1 service's random fault mode over HTTP", () => {
  let dataDir: string;
  let service: LocalD1Service;
  let d1: D1Client;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'd1-random-faults-'));
    service = await startLocalD1Service({ dataDir, apiToken: randomBytes(16).toString('hex') });
    // No client retries: each call is one request, so what the service injected is what the call sees.
    d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken, retries: 'unsent-only', timeoutMs: 2_000 });
  });
  afterAll(async () => {
    await service?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function admin(method: 'GET' | 'POST' | 'DELETE', body?: unknown): Promise<{ status: number; result: { random: RandomFaultStats | null } }> {
    const response = await fetch(`${service.origin}/__local/faults`, {
      method,
      headers: { authorization: `Bearer ${service.apiToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, ...((await response.json()) as { result: { random: RandomFaultStats | null } }) };
  }

  it('counts every D1 API request per route: query, raw, bookmark, restore, and import with its upload', async () => {
    await admin('POST', { random: { seed: 1, rate: 0 } });
    await d1.query('CREATE TABLE t (x INTEGER)');
    await d1.raw('SELECT count(*) FROM t');
    const bookmark = await d1.bookmark();
    await d1.import('INSERT INTO t VALUES (1);');
    await d1.restore({ bookmark });
    const { random } = (await admin('GET')).result;
    expect(random).toMatchObject({ seed: 1, rate: 0, on: true, injected: 0 });
    expect(Object.keys(random!.byRoute).sort()).toEqual(['GET time_travel/bookmark', 'POST import', 'POST query', 'POST raw', 'POST time_travel/restore', 'PUT import upload']);
    expect(random!.requests).toBe(Object.values(random!.byRoute).reduce((n, r) => n + r.requests, 0));
  });

  it("answers with D1's own transient error, and a queued fault takes the request first", async () => {
    await admin('POST', { random: { seed: 2, rate: 1, kinds: ['d1-internal-error'] } });
    await expect(d1.query('SELECT 1')).rejects.toMatchObject({ type: 'D1Transient', status: 400, message: expect.stringMatching(/internal error; reference = /) });
    await admin('POST', { kind: '429', count: 1, retryAfterSeconds: 4 });
    await expect(d1.query('SELECT 1')).rejects.toMatchObject({ type: 'D1RateLimited', retryAfterMs: 4000 });
    const { random } = (await admin('GET')).result;
    expect(random).toMatchObject({ requests: 2, injected: 1, byKind: { 'd1-internal-error': 1 } });
  });

  it('stops with {random: null} and refuses settings it cannot honour', async () => {
    await admin('POST', { random: null });
    await expect(d1.query('SELECT 1')).resolves.toHaveLength(1);
    expect((await admin('GET')).result.random).toMatchObject({ on: false });
    expect((await admin('POST', { random: { seed: 1, rate: 2 } })).status).toBe(400);
  });
});
