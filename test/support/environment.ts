import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../worker/config.ts';

/** The configuration a worker or CLI would have against this test run's services. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  const temporal = inject('temporal');
  const d1 = inject('d1');
  return loadConfig({
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    TEMPORAL_TASK_QUEUE: uniqueName('tq'),
    D1_API_URL: d1.baseUrl,
    CLOUDFLARE_ACCOUNT_ID: d1.accountId,
    D1_DATABASE_ID: d1.databaseId,
    CLOUDFLARE_API_TOKEN: d1.apiToken,
    WAREHOUSE_VAR_DIR: `${inject('tmpDir')}/var-${randomUUID()}`,
    ...overrides,
  });
}

/** A name no other test uses: for task queues, workflow ids and tables. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}
