import type { ChildProcess } from 'node:child_process';
import { copyFile, cp, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNightly } from '../../client/nightly.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';
import { childWorkflowId, nightlyWorkflowId } from '../../workflows/messages.ts';
import { eventually } from '../support/eventually.ts';
import { killHard, spawnWorker } from '../support/worker-process.ts';
import { allChecksums, runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

/** The grace time the stopped workers run with: short, so that the test sees activities cancelled. */
const graceMs = 2_000;
/** What "within the grace time" allows for: the worker's own stop, a slow machine. Not a timing benchmark. */
const marginMs = 20_000;
const workerEnv = { WORKER_SHUTDOWN_GRACE: `${graceMs}ms`, EXPORT_POLL_MS: '500' };

/** SIGTERM, as systemd or `docker compose` sends it; resolves with the exit code, the signal and how long the process took to exit. */
async function stopGracefully(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const started = Date.now();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.kill('SIGTERM');
  return { ...(await exited), ms: Date.now() - started };
}

/** Every attempt number an activity of this type started with in the workflow's history (the last one per scheduled activity). */
async function startedAttempts(warehouse: IsolatedWarehouse, workflowId: string, activityType: string): Promise<number[]> {
  const history = await warehouse.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType).map((e) => String(e.eventId)));
  return events.flatMap((e) => {
    const started = e.activityTaskStartedEventAttributes;
    return started && scheduled.has(String(started.scheduledEventId)) ? [started.attempt ?? 1] : [];
  });
}

/** A clean run of the same night, in a warehouse of its own, with an in-process worker that is never stopped: its summary and checksums. */
async function cleanRun(reference: IsolatedWarehouse, businessDate: string) {
  const worker = await startWorker(reference.config);
  try {
    const summary = await runNight(reference, businessDate);
    expect(summary.status).toBe('ok');
    return { summary, checksums: await allChecksums(reference.d1) };
  } finally {
    await worker.stop();
  }
}

describe('a worker stopped with SIGTERM while a night waits for a late export', () => {
  const day = '2027-11-03';
  const late = contractFor('stock');
  let stopped: IsolatedWarehouse;
  let reference: IsolatedWarehouse;
  let exports: string;

  beforeAll(async () => {
    [stopped, reference] = await Promise.all([startIsolatedWarehouse(workerEnv), startIsolatedWarehouse()]);
    exports = join(stopped.dir, 'exports');
    await generateExports({ outDir: exports, from: day, days: 1, scale: 1, seed: 1103 });
    await cp(exports, reference.inbox, { recursive: true });
    // Everything but the stock export is there at 03:00; STOCKS comes late.
    await mkdir(stopped.inbox, { recursive: true });
    for (const name of await readdir(exports)) if (name.endsWith('.csv') && name !== exportFileName(late, day)) await copyFile(join(exports, name), join(stopped.inbox, name));
  });
  afterAll(async () => {
    await stopped?.close();
    await reference?.close();
  });

  it('exits 0 within the grace time; the next worker takes the file when it comes, and the night equals a clean run', async () => {
    const expected = (await cleanRun(reference, day)).checksums;
    const log = join(stopped.dir, 'worker.log');
    let child = spawnWorker(stopped, { logFile: log });
    try {
      const night = await startNightly(stopped.client, stopped.config, day);
      const stockRun = childWorkflowId(nightlyWorkflowId(day), late.table, day);
      // The other twelve tables load; stock's fetch waits (heartbeating) for its file.
      const verified = await eventually(
        async () => (await stopped.d1.query<{ n: number }>("SELECT count(*) AS n FROM etl_loads WHERE business_date = ? AND status = 'verified'", [day]).catch(() => [undefined]))[0]?.results[0]?.n ?? 0,
        (n) => n === 12,
        480_000,
        500,
      );
      expect(verified).toBe(12);
      const pending = await eventually(
        async () => (await stopped.client.workflow.getHandle(stockRun).describe()).raw.pendingActivities ?? [],
        (activities) => activities.some((a) => a.activityType?.name === 'fetchExport'),
      );
      expect(pending.map((a) => a.activityType?.name)).toEqual(['fetchExport']);

      const exit = await stopGracefully(child);
      expect(exit, await readFile(log, 'utf8')).toMatchObject({ code: 0, signal: null });
      expect(exit.ms).toBeLessThan(graceMs + marginMs);
      expect(await readFile(log, 'utf8')).toContain('SIGTERM: worker stopping');

      child = spawnWorker(stopped, { logFile: log });
      await copyFile(join(exports, exportFileName(late, day)), join(stopped.inbox, exportFileName(late, day)));
      const summary = await night.result();
      expect(summary.status).toBe('ok');
      expect(summary.tables.map((t) => `${t.table}:${t.status}`).sort()).toEqual(summary.tables.map((t) => `${t.table}:loaded`).sort());
      expect(summary.tables).toHaveLength(13);
      // The fetch cut short by the stop was retried by the new worker (attempt 2 or later), not lost.
      expect(Math.max(...(await startedAttempts(stopped, stockRun, 'fetchExport')))).toBeGreaterThanOrEqual(2);
    } finally {
      await killHard(child);
    }
    expect(await allChecksums(stopped.d1)).toEqual(expected);
  }, 900_000);
});

describe('a worker stopped with SIGTERM mid-stage', () => {
  const day = '2027-11-09';
  const big = contractFor('invoice_lines');
  let stopped: IsolatedWarehouse;
  let reference: IsolatedWarehouse;

  beforeAll(async () => {
    // No grace time here: the running stage is cancelled at the signal, so a quiet machine cannot finish the whole
    // file inside the grace time (it did once, and then no stage was interrupted). The grace itself is the first test's.
    // Chunks of 2,000 rows (the default is 10,000), so that the stop lands between chunks of the big file.
    [stopped, reference] = await Promise.all([startIsolatedWarehouse({ ...workerEnv, WORKER_SHUTDOWN_GRACE: '0ms', STAGE_CHUNK_ROWS: '2000' }), startIsolatedWarehouse()]);
    // Scale 100: about 50,000 invoice lines, a stage of many chunks.
    await generateExports({ outDir: stopped.inbox, from: day, days: 1, scale: 100, seed: 1109 });
    await cp(stopped.inbox, reference.inbox, { recursive: true });
  });
  afterAll(async () => {
    await stopped?.close();
    await reference?.close();
  });

  it('exits 0 within the grace time; the next worker resumes the stage, and the night equals a clean run', async () => {
    const { summary: clean, checksums: expected } = await cleanRun(reference, day);
    const cleanLoad = clean.tables.find((t) => t.table === big.table);
    const total = cleanLoad && 'rowsRead' in cleanLoad ? cleanLoad.rowsRead : 0;
    expect(total).toBeGreaterThan(20_000);

    const log = join(stopped.dir, 'worker.log');
    let child = spawnWorker(stopped, { logFile: log });
    try {
      const night = await startNightly(stopped.client, stopped.config, day);
      const staged = () => stopped.d1.query<{ n: number }>(`SELECT count(*) AS n FROM "_stage_${big.table}"`).then(([r]) => r?.results[0]?.n ?? 0, () => 0);
      // Stop as soon as the first chunks of the big file are in the stage table.
      expect(await eventually(staged, (n) => n > 0, 240_000, 100)).toBeGreaterThan(0);

      const exit = await stopGracefully(child);
      expect(exit, await readFile(log, 'utf8')).toMatchObject({ code: 0, signal: null });
      expect(exit.ms).toBeLessThan(graceMs + marginMs);
      // The stop came mid-stage: part of the file is staged, not all of it.
      const stagedAtStop = await staged();
      expect(stagedAtStop).toBeGreaterThan(0);
      expect(stagedAtStop).toBeLessThan(total);

      child = spawnWorker(stopped, { logFile: log });
      const summary = await night.result();
      expect(summary.status).toBe('ok');
      expect(summary.tables.find((t) => t.table === big.table)).toMatchObject({ status: 'loaded', rowsRead: total });
      const stageRun = childWorkflowId(nightlyWorkflowId(day), big.table, day);
      expect(Math.max(...(await startedAttempts(stopped, stageRun, 'stageExport')))).toBeGreaterThanOrEqual(2);
    } finally {
      await killHard(child);
    }
    expect(await allChecksums(stopped.d1)).toEqual(expected);
    expect(await eventually(() => stopped.d1.query<{ n: number }>(`SELECT count(*) AS n FROM "_stage_${big.table}"`).then(([r]) => r?.results[0]?.n), (n) => n === 0)).toBe(0);
  }, 900_000);
});
