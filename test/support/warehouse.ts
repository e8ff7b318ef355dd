import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { tableChecksum, type TableChecksum } from '../../client/checksum.ts';
import { startNightly } from '../../client/nightly.ts';
import { createApproverKey } from '../../client/commands/approver-key.ts';
import { tableContracts } from '../../contracts/index.ts';
import { createD1Client, type D1Client } from '../../d1/client.ts';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';
import type { Config } from '../../worker/config.ts';
import { createWarehouseWorker, type WorkerSetup } from '../../worker/create-worker.ts';
import type { NightlySummary } from '../../workflows/index.ts';
import { testConfig } from './environment.ts';

/** A warehouse of its own for one test file: a local D1 service, a NAS and a task queue. */
export interface IsolatedWarehouse {
  dir: string;
  inbox: string;
  config: Config;
  /** The environment a separate `warehouse` process needs to reach the same warehouse. */
  env: Record<string, string>;
  d1: D1Client;
  service: LocalD1Service;
  client: Client;
  /** Private approver keys: paul's is in the worker's APPROVER_PUBLIC_KEYS (and the CLI's APPROVER_KEY); mallory's is not. */
  keys: { paul: string; mallory: string };
  close(): Promise<void>;
}

/** Writes paul's and mallory's approver keys under `dir`; only paul's public key goes in the worker's list. */
async function approverKeys(dir: string): Promise<{ paul: string; mallory: string; allowedSigners: string }> {
  const keys = { paul: join(dir, 'keys', 'paul.key'), mallory: join(dir, 'keys', 'mallory.key'), allowedSigners: join(dir, 'keys', 'allowed_signers') };
  const paul = await createApproverKey({ name: 'paul', keyFile: keys.paul });
  await createApproverKey({ name: 'mallory', keyFile: keys.mallory });
  await writeFile(keys.allowedSigners, `# the worker's approvers\n${paul.line}\n`);
  return keys;
}

/**
 * Starts a local D1 service in a temporary directory (nightly loads write fixed table
 * names, so each test file gets its own warehouse) and connects to the run's Temporal.
 */
export async function startIsolatedWarehouse(extraEnv: Record<string, string> = {}): Promise<IsolatedWarehouse> {
  const dir = await mkdtemp(join(tmpdir(), 'sodimo-wh-'));
  const service = await startLocalD1Service({ dataDir: join(dir, 'd1'), apiToken: randomBytes(16).toString('hex'), conformance: 'collect' });
  const keys = await approverKeys(dir);
  const base = testConfig();
  const env = {
    TEMPORAL_ADDRESS: base.temporal.address,
    TEMPORAL_NAMESPACE: base.temporal.namespace,
    TEMPORAL_TASK_QUEUE: base.temporal.taskQueue,
    D1_API_URL: service.url,
    CLOUDFLARE_ACCOUNT_ID: service.accountId,
    D1_DATABASE_ID: service.databaseId,
    CLOUDFLARE_API_TOKEN: service.apiToken,
    WAREHOUSE_VAR_DIR: join(dir, 'var'),
    WAREHOUSE_NAS_DIR: join(dir, 'nas'),
    EXPORT_STABLE_MS: '0',
    APPROVER_PUBLIC_KEYS: keys.allowedSigners,
    APPROVER_KEY: keys.paul,
    ...extraEnv,
  };
  const config = testConfig(env);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return {
    dir,
    inbox: join(dir, 'nas', 'inbox'),
    config,
    env,
    d1: createD1Client(config.d1),
    service,
    client,
    keys: { paul: keys.paul, mallory: keys.mallory },
    async close() {
      await connection.close();
      try {
        await service.close(); // throws what the service found outside Cloudflare's D1 schema
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** An in-process worker on the warehouse's task queue, using the run's prebuilt bundle. */
export async function startWorker(config: Config, wrapActivities?: WorkerSetup['wrapActivities']): Promise<{ worker: Worker; stop(): Promise<void> }> {
  const code = await readFile(inject('workflowBundlePath'), 'utf8');
  const { worker, connection }: { worker: Worker; connection: NativeConnection } = await createWarehouseWorker({ config, workflowBundle: { code }, ...(wrapActivities ? { wrapActivities } : {}) });
  const running = worker.run();
  return {
    worker,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** Runs nightly-<date> to completion and returns its summary. */
export async function runNight(warehouse: IsolatedWarehouse, businessDate: string): Promise<NightlySummary> {
  const handle = await startNightly(warehouse.client, warehouse.config, businessDate);
  return handle.result();
}

/** Every table's checksum, in contract order. */
export async function allChecksums(d1: D1Client): Promise<TableChecksum[]> {
  const sums: TableChecksum[] = [];
  for (const contract of tableContracts) sums.push(await tableChecksum(d1, contract));
  return sums;
}
