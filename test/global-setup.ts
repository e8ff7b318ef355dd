import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startTemporalDevServer } from '../client/dev/temporal-server.ts';
import { startLocalD1Service } from '../d1/local-service/server.ts';
import { bundleWorkflows } from '../worker/bundle.ts';
import { freePort } from './support/free-port.ts';

/**
 * One real Temporal dev server and one local D1 service for the whole test run,
 * in a temporary directory, on free ports of 127.0.0.1; and the workflow bundle, built once.
 */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), 'sodimo-test-'));
  const [temporal, d1, bundle] = await Promise.all([
    freePort().then((port) => startTemporalDevServer({ port, logFile: join(dir, 'temporal.log'), startTimeoutMs: 120_000 })),
    startLocalD1Service({ dataDir: join(dir, 'd1'), apiToken: randomBytes(16).toString('hex'), conformance: 'collect' }),
    bundleWorkflows(),
  ]);
  const bundlePath = join(dir, 'workflow-bundle.js');
  await writeFile(bundlePath, bundle.code);

  project.provide('temporal', { address: temporal.address, namespace: temporal.namespace });
  project.provide('d1', { baseUrl: d1.url, origin: d1.origin, accountId: d1.accountId, databaseId: d1.databaseId, apiToken: d1.apiToken });
  project.provide('workflowBundlePath', bundlePath);
  project.provide('tmpDir', dir);

  return async () => {
    const [, d1Closed] = await Promise.allSettled([temporal.stop(), d1.close()]);
    await rm(dir, { recursive: true, force: true });
    // A D1 answer or request outside Cloudflare's pinned schema fails the run: vitest exits
    // non-zero when a global teardown throws.
    if (d1Closed.status === 'rejected') throw d1Closed.reason;
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporal: { address: string; namespace: string };
    d1: { baseUrl: string; origin: string; accountId: string; databaseId: string; apiToken: string };
    workflowBundlePath: string;
    tmpDir: string;
  }
}
