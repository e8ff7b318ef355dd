import { cp } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNightly } from '../../client/nightly.ts';
import { generateExports } from '../../generator/index.ts';
import type { NightlySummary } from '../../workflows/nightly-run.ts';
import { faults, killHard, spawnWorker, untilApplied } from '../support/worker-process.ts';
import { allChecksums, runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const days = ['2026-05-04', '2026-05-05'];

describe('a worker killed with SIGKILL mid-stage, mid-publish and as a load is verified', () => {
  let killed: IsolatedWarehouse;
  let reference: IsolatedWarehouse;

  beforeAll(async () => {
    [killed, reference] = await Promise.all([startIsolatedWarehouse(), startIsolatedWarehouse()]);
    await generateExports({ outDir: killed.inbox, from: days[0]!, days: days.length, scale: 1, seed: 21 });
    await cp(killed.inbox, reference.inbox, { recursive: true });
  });
  afterAll(async () => {
    await killed?.close();
    await reference?.close();
  });

  it('completes after restarts, with the same checksums as an uninterrupted run', async () => {
    const clean: NightlySummary[] = [];
    const worker = await startWorker(reference.config);
    try {
      for (const day of days) clean.push(await runNight(reference, day));
      expect(clean.map((night) => night.status)).toEqual(['ok', 'ok']);
    } finally {
      await worker.stop();
    }

    let child = spawnWorker(killed);
    try {
      expect((await runNight(killed, days[0]!)).status).toBe('ok');

      // Day 2: the first stage insert of order_lines is written, and its answer never comes back.
      await faults(killed, 'POST', { kind: 'hang-after', count: 1, retryAfterSeconds: 1, match: 'INSERT INTO \\"_stage_order_lines\\"' });
      const night = await startNightly(killed.client, killed.config, days[1]!);
      await untilApplied(killed, 1);
      await killHard(child);
      child = spawnWorker(killed);

      // Then a publish batch (the merge and its control rows) commits and the worker dies before hearing so.
      await faults(killed, 'POST', { kind: 'hang-after', count: 1, retryAfterSeconds: 1, match: 'INSERT INTO etl_watermarks' });
      await untilApplied(killed, 2);
      await killHard(child);
      child = spawnWorker(killed);

      // Then a load is marked verified and the worker dies before its local steps are recorded: they run
      // again on the next worker, whose first look finds the load verified by this very night.
      await faults(killed, 'POST', { kind: 'hang-after', count: 1, retryAfterSeconds: 1, match: "SET status = 'verified', finished_at" });
      await untilApplied(killed, 3);
      await killHard(child);
      child = spawnWorker(killed);

      const summary = await night.result();
      expect(summary.status).toBe('ok');
      // Every table is reported loaded, with the versions it wrote: none passes for unchanged, none for zero versions.
      expect(summary.tables.filter((t) => t.status !== 'loaded').map((t) => `${t.table} ${t.status}`)).toEqual([]);
      const versions = (night: NightlySummary) => night.tables.map((t) => [t.table, t.status === 'failed' ? undefined : t.versionsInserted]);
      expect(versions(summary)).toEqual(versions(clean[1]!));
    } finally {
      await killHard(child);
    }
    expect(await allChecksums(killed.d1)).toEqual(await allChecksums(reference.d1));
    const [stage] = await killed.d1.query<{ n: number }>('SELECT count(*) AS n FROM "_stage_order_lines"');
    expect(stage?.results[0]?.n).toBe(0);
  }, 420_000);
});
