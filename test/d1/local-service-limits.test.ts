import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createD1Client, type D1Client } from '../../d1/client.ts';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';

/** The local D1 service keeps D1's limits and shapes, so a test cannot pass against a kinder D1. */
describe('the local D1 service behaves like D1 where the warehouse depends on it', () => {
  let service: LocalD1Service;
  let dir: string;
  let d1: D1Client;
  let clock = new Date('2026-11-20T03:00:00Z');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sodimo-limits-'));
    service = await startLocalD1Service({ dataDir: dir, apiToken: randomBytes(8).toString('hex'), now: () => clock, conformance: 'collect' });
    // No retries in the client: the test sees D1's own answers.
    d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken, retries: 'unsent-only' });
  });
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers bookmarks in D1's 8-8-8-32 hex shape, and a restore answers the new bookmark and the previous one", async () => {
    const bookmark = await d1.bookmark();
    expect(bookmark).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/);
    const restored = await d1.restore({ bookmark });
    expect(restored.previousBookmark).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/);
  });

  it('refuses an eleventh restore within ten minutes with a 429 that says when to try again', async () => {
    await d1.query('CREATE TABLE t (x INTEGER)');
    const bookmark = await d1.bookmark();
    for (let i = 1; i < 10; i++) await d1.restore({ bookmark }); // the first test made one already
    await expect(d1.restore({ bookmark })).rejects.toMatchObject({ type: 'D1RateLimited', retryAfterMs: 600_000 });
    clock = new Date(clock.getTime() + 10 * 60_000);
    await expect(d1.restore({ bookmark })).resolves.toMatchObject({ previousBookmark: expect.any(String) });
  });
});
