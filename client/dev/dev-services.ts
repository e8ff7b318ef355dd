import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';
import type { Config } from '../../worker/config.ts';
import { startTemporalDevServer, type TemporalDevServer } from './temporal-server.ts';

/** The development services: a Temporal dev server and the local D1 service. */
export interface DevServices {
  temporal: TemporalDevServer;
  d1: LocalD1Service;
  stop(): Promise<void>;
}

/** Where `warehouse dev` binds, derived from the configuration the worker and CLI use. */
export function devEndpoints(config: Config) {
  const d1Url = new URL(config.d1.baseUrl);
  return {
    temporalPort: Number(config.temporal.address.split(':').at(-1)),
    uiPort: Number(new URL(config.temporal.uiUrl).port || 8233),
    d1Port: Number(d1Url.port || 80),
    d1Health: `${d1Url.origin}/__local/health`,
  };
}

/** Starts both services under `var/dev`, bound to 127.0.0.1 where the configuration points. */
export async function startDevServices(config: Config): Promise<DevServices> {
  if (!config.d1.isLocal) throw new Error(`D1_API_URL points at ${config.d1.baseUrl}; warehouse dev only runs the local D1 service on 127.0.0.1`);
  const ends = devEndpoints(config);
  await mkdir(config.paths.devDir, { recursive: true });
  await mkdir(config.paths.logDir, { recursive: true });
  const temporal = await startTemporalDevServer({
    port: ends.temporalPort,
    uiPort: ends.uiPort,
    namespace: config.temporal.namespace,
    dbFile: join(config.paths.devDir, 'temporal.sqlite'),
    logFile: join(config.paths.logDir, 'temporal.log'),
  });
  let d1: LocalD1Service;
  try {
    d1 = await startLocalD1Service({ dataDir: join(config.paths.devDir, 'd1'), apiToken: config.d1.apiToken, port: ends.d1Port, accountId: config.d1.accountId, databaseId: config.d1.databaseId });
  } catch (error) {
    await temporal.stop();
    throw error;
  }
  // Both at once: the Temporal server's SIGTERM goes out synchronously, before the first await.
  return { temporal, d1, stop: async () => { await Promise.all([temporal.stop(), d1.close()]); } };
}

/** True when both services answer their health checks. */
export async function devServicesHealthy(config: Config): Promise<boolean> {
  const ends = devEndpoints(config);
  try {
    const response = await fetch(ends.d1Health, { signal: AbortSignal.timeout(1000) });
    if (!response.ok) return false;
    const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: 1000 });
    try {
      await connection.workflowService.getSystemInfo({});
    } finally {
      await connection.close();
    }
    return true;
  } catch {
    return false;
  }
}
