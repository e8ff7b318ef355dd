import { spawn, type ChildProcess } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { cliEntry } from '../../client/cli-support.ts';
import { startNightly } from '../../client/nightly.ts';
import { generateExports } from '../../generator/index.ts';
import type { FaultRequest } from '../../d1/local-service/faults.ts';
import { allChecksums, runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

const days = ['2026-05-04', '2026-05-05'];

/** `warehouse worker` as its own process, as in production, so it can be killed with SIGKILL. */
function spawnWorker(warehouse: IsolatedWarehouse): ChildProcess {
  const child = spawn(process.execPath, [cliEntry, 'worker'], {
    env: { ...process.env, ...warehouse.env, WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** The local D1 service's admin route for faults. */
async function faults(warehouse: IsolatedWarehouse, method: 'GET' | 'POST', body?: FaultRequest): Promise<{ applied: number; pending: unknown[] }> {
  const response = await fetch(`${warehouse.service.origin}/__local/faults`, {
    method,
    headers: { authorization: `Bearer ${warehouse.service.apiToken}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const envelope = (await response.json()) as { result: { applied: number; pending: unknown[] } };
  return envelope.result;
}

/** Waits until the service has applied `count` faults in total (the worker is then mid-request). */
async function untilApplied(warehouse: IsolatedWarehouse, count: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await faults(warehouse, 'GET')).applied < count) {
    if (Date.now() > deadline) throw new Error(`fault ${count} was never reached`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a worker killed with SIGKILL mid-stage and mid-publish', () => {
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
    const worker = await startWorker(reference.config);
    try {
      for (const day of days) expect((await runNight(reference, day)).status).toBe('ok');
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

      const summary = await night.result();
      expect(summary.status).toBe('ok');
      expect(summary.tables.every((t) => t.status === 'loaded')).toBe(true);
    } finally {
      await killHard(child);
    }
    expect(await allChecksums(killed.d1)).toEqual(await allChecksums(reference.d1));
    const [stage] = await killed.d1.query<{ n: number }>('SELECT count(*) AS n FROM "_stage_order_lines"');
    expect(stage?.results[0]?.n).toBe(0);
  }, 420_000);
});
