import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TableChecksum } from '../../client/checksum.ts';
import type { FaultRequest } from '../../d1/local-service/faults.ts';
import { generateExports } from '../../generator/index.ts';
import { faults } from '../support/worker-process.ts';
import { allChecksums, runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

/**
 * D1 failing the way Cloudflare's D1 fails, on a real worker and the local D1 service: transient
 * errors on HTTP 400, answers lost after the write applied, a 429. Every night must end `ok`
 * with the checksums of a clean warehouse that loaded the same files, and nothing quarantined.
 */
const days = ['2027-01-11', '2027-01-12', '2027-01-13'];

describe('D1 faults as Cloudflare serves them', () => {
  let faulty: IsolatedWarehouse;
  let reference: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  /** The clean warehouse's checksums after each day. */
  const clean: TableChecksum[][] = [];

  beforeAll(async () => {
    [faulty, reference] = await Promise.all([startIsolatedWarehouse(), startIsolatedWarehouse()]);
    await generateExports({ outDir: faulty.inbox, from: days[0]!, days: days.length, scale: 1, seed: 31 });
    await cp(faulty.inbox, reference.inbox, { recursive: true });
    const cleanWorker = await startWorker(reference.config);
    try {
      for (const day of days) {
        expect((await runNight(reference, day)).status).toBe('ok');
        clean.push(await allChecksums(reference.d1));
      }
    } finally {
      await cleanWorker.stop();
    }
    worker = await startWorker(faulty.config);
  }, 180_000);
  afterAll(async () => {
    await worker?.stop();
    await faulty?.close();
    await reference?.close();
  });

  /** Queues faults, runs the night, and checks that every fault was served and nothing was set aside. */
  async function nightWith(day: string, injected: FaultRequest[]) {
    const before = (await faults(faulty, 'GET')).applied;
    for (const fault of injected) await faults(faulty, 'POST', fault);
    const started = Date.now();
    const summary = await runNight(faulty, day);
    const elapsedMs = Date.now() - started;
    const state = await faults(faulty, 'GET');
    expect(state.pending).toEqual([]);
    expect(state.applied - before).toBe(injected.reduce((n, f) => n + f.count, 0));

    expect(summary.status).toBe('ok');
    expect(summary.tables.every((t) => t.status === 'loaded')).toBe(true);
    const [failed] = await faulty.d1.query<{ n: number }>("SELECT count(*) AS n FROM etl_loads WHERE status IN ('failed', 'reverted', 'quarantined')");
    expect(failed?.results[0]?.n).toBe(0);
    const [incidents] = await faulty.d1.query<{ n: number }>('SELECT count(*) AS n FROM etl_incidents');
    expect(incidents?.results[0]?.n).toBe(0);
    expect(await readdir(join(faulty.dir, 'nas', 'quarantine')).catch(() => [])).toEqual([]);
    expect(await readdir(faulty.config.mail.mailDir).catch(() => [])).toEqual([]);
    return { summary, elapsedMs };
  }

  it("(a) D1's `internal error; reference = …` (7500 on HTTP 400) and 7429 on stage and publish requests are retried, not quarantined", async () => {
    await nightWith(days[0]!, [
      { kind: 'd1-error', count: 2, retryAfterSeconds: 1, match: 'INSERT INTO \\"_stage_customers\\"' },
      { kind: 'd1-error', count: 1, retryAfterSeconds: 1, match: 'INSERT INTO etl_watermarks' },
      { kind: 'd1-error', count: 1, retryAfterSeconds: 1, status: 400, code: 7429, message: 'D1 DB is overloaded. Requests queued for too long.', match: 'INSERT INTO \\"_stage_products\\"' },
      { kind: 'html', count: 1, retryAfterSeconds: 1, status: 524, match: 'INSERT INTO \\"_stage_orders\\"' },
    ]);
    expect(await allChecksums(faulty.d1)).toEqual(clean[0]);
  }, 60_000);

  it('(b) a stage batch applied whose answer is lost (500 `Network connection lost`, dropped connection) is resent: no DuplicateKey, exact counts', async () => {
    await nightWith(days[1]!, [
      { kind: 'error-after', count: 1, retryAfterSeconds: 1, match: 'INSERT INTO \\"_stage_order_lines\\"' },
      { kind: 'drop-after', count: 1, retryAfterSeconds: 1, match: 'INSERT INTO \\"_stage_customers\\"' },
      { kind: 'error-after', count: 1, retryAfterSeconds: 1, status: 400, match: "SET status = 'verified'" },
    ]);
    expect(await allChecksums(faulty.d1)).toEqual(clean[1]);
    const [loads] = await faulty.d1.query<{ table_name: string; rows_staged: number; status: string }>(
      'SELECT table_name, rows_staged, status FROM etl_loads WHERE business_date = ? ORDER BY table_name',
      [days[1]!],
    );
    const [cleanLoads] = await reference.d1.query<{ table_name: string; rows_staged: number; status: string }>(
      'SELECT table_name, rows_staged, status FROM etl_loads WHERE business_date = ? ORDER BY table_name',
      [days[1]!],
    );
    expect(loads?.results).toEqual(cleanLoads?.results);
    expect(loads?.results.every((l) => l.status === 'verified')).toBe(true);
    // The stage table has one row per (load id, line): a resend cannot double a line.
    const [indexes] = await faulty.d1.query<{ name: string; unique: number }>('SELECT name, "unique" FROM pragma_index_list(\'_stage_order_lines\')');
    expect(indexes?.results).toContainEqual({ name: '_stage_order_lines__load_line', unique: 1 });
  }, 60_000);

  it('(c) a 429 with Retry-After: 2 is waited out and the night ends ok', async () => {
    const { elapsedMs } = await nightWith(days[2]!, [{ kind: '429', count: 1, retryAfterSeconds: 2, match: 'INSERT INTO \\"_stage_invoices\\"' }]);
    expect(elapsedMs).toBeGreaterThanOrEqual(2_000);
    expect(await allChecksums(faulty.d1)).toEqual(clean[2]);
  }, 60_000);
});
