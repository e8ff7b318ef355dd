import { Client, Connection } from '@temporalio/client';
import type { Config } from '../worker/config.ts';

/** A Temporal client for the configured server (over TLS or mTLS when TEMPORAL_TLS_* is set); close its connection when done. */
export async function connectClient(config: Config): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: config.temporal.address, tls: config.temporal.tls });
  return { client: new Client({ connection, namespace: config.temporal.namespace }), connection };
}

/** The Web UI link to one workflow. */
export function workflowUiLink(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
