import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanExport } from '../../activities/export-reader.ts';
import { createFetchActivities } from '../../activities/fetch.ts';
import { nasLayout, type NasLayout } from '../../activities/nas.ts';
import { createNightInboxActivities } from '../../activities/night-inbox.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName, sodiwinDialect } from '../../contracts/types.ts';
import { generateExports } from '../../generator/index.ts';

/** A business date whose export deadline (06:00 Paris the next morning) is far ahead: fetch waits. */
const futureDate = '2027-11-20';
/** Longer than any test here: a wait that ended did so because it was cancelled, not because it timed out. */
const pollMs = 600_000;
const deadline = { timeOfDay: '06:00', timeZone: 'Europe/Paris' };

let root: string;
let nas: NasLayout;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sodimo-cancel-'));
  nas = nasLayout(root);
  await mkdir(nas.inbox, { recursive: true });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs `start` in a fresh activity environment, cancels it after 200 ms as a worker shutdown does; the rejection and how long it took. */
async function cancelledAfterStart(start: (env: MockActivityEnvironment) => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const env = new MockActivityEnvironment();
  const started = Date.now();
  const running = start(env).then(
    () => undefined,
    (e: unknown) => e,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  env.cancel('WORKER_SHUTDOWN');
  return { error: await running, ms: Date.now() - started };
}

describe('activities stop when they are cancelled (a worker shutting down)', () => {
  it('a fetch waiting for a late export stops waiting at once, with a CancelledFailure', async () => {
    const notReached = () => Promise.reject(new Error('not reached'));
    const fetch = createFetchActivities({ d1: { query: notReached, batch: notReached, first: notReached }, nas, stableForMs: 0, exportDeadline: deadline, pollMs, dialect: sodiwinDialect });
    const { error, ms } = await cancelledAfterStart((env) => env.run(fetch.fetchExport, { table: 'stock', businessDate: futureDate }));
    expect(error).toBeInstanceOf(CancelledFailure);
    expect((error as CancelledFailure).message).toBe('WORKER_SHUTDOWN');
    expect(ms).toBeLessThan(10_000);
  });

  it('waiting for the night\'s first export stops too', async () => {
    const inbox = createNightInboxActivities({ nas, exportDeadline: deadline, pollMs });
    const { error, ms } = await cancelledAfterStart((env) => env.run(inbox.awaitNightExport, { businessDate: futureDate, tables: ['brands'] }));
    expect(error).toBeInstanceOf(CancelledFailure);
    expect(ms).toBeLessThan(10_000);
  });

  it('a scan stops between chunks and throws the cancellation, not a CSV error', async () => {
    const out = join(root, 'generated');
    await generateExports({ outDir: out, from: futureDate, days: 1, scale: 1, seed: 7 });
    const contract = contractFor('invoice_lines');
    const path = join(out, exportFileName(contract, futureDate));
    const whole = await scanExport({ path, contract, dialect: sodiwinDialect, businessDate: futureDate });
    expect(whole.rowsValid).toBeGreaterThan(400);

    const controller = new AbortController();
    const reason = new CancelledFailure('WORKER_SHUTDOWN');
    let rows = 0;
    const error = await scanExport({
      path,
      contract,
      dialect: sodiwinDialect,
      businessDate: futureDate,
      signal: controller.signal,
      onRow: () => {
        rows += 1;
        if (rows === 10) controller.abort(reason);
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBe(reason);
    expect(rows).toBeLessThan(whole.rowsValid);
  });
});
