import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities, type Activities } from '../activities/index.ts';
import { nasLayout } from '../activities/nas.ts';
import { createD1Client } from '../d1/client.ts';
import { warehouseIdOf, type Config } from './config.ts';
import { workflowsPath } from './bundle.ts';

/** What a worker needs: the configuration and, optionally, a prebuilt workflow bundle. */
export interface WorkerSetup {
  config: Config;
  /** A bundle built once (tests, the container image); omit to bundle at start. */
  workflowBundle?: WorkflowBundleOption;
  /** Tests only: wraps the real activities, e.g. to inject a fault between two of them. */
  wrapActivities?: (activities: Activities) => Activities;
}

/**
 * How long after the grace time the worker gives up waiting for activities that ignore their
 * cancellation: `run()` then rejects (GracefulShutdownPeriodExpiredError) and the process exits
 * non-zero rather than hang a deploy. Every activity of the warehouse stops when cancelled.
 */
export const shutdownForceMarginMs = 15_000;

/**
 * A worker wired to Temporal and to the warehouse, ready to `run()`. On SIGTERM/SIGINT (or
 * `shutdown()`) it stops polling, lets running activities go on for the configured grace time,
 * then cancels them: each stops, its attempt fails and Temporal retries it on the next worker.
 */
export async function createWarehouseWorker(setup: WorkerSetup): Promise<{ worker: Worker; connection: NativeConnection }> {
  const { config } = setup;
  const wrap = setup.wrapActivities ?? ((activities: Activities) => activities);
  const connection = await NativeConnection.connect({ address: config.temporal.address, tls: config.temporal.tls });
  // Activities retry through Temporal's policies: the client itself resends only what never reached D1.
  const d1 = createD1Client({ baseUrl: config.d1.baseUrl, accountId: config.d1.accountId, databaseId: config.d1.databaseId, apiToken: config.d1.apiToken, timeoutMs: config.d1.timeoutMs, retries: 'unsent-only' });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    shutdownGraceTime: config.worker.shutdownGraceMs,
    shutdownForceTime: config.worker.shutdownGraceMs + shutdownForceMarginMs,
    activities: wrap(
      createActivities({
        d1,
        nas: nasLayout(config.paths.nasDir),
        ...config.load,
        mail: config.mail,
        temporalUi: { url: config.temporal.uiUrl, namespace: config.temporal.namespace },
        approverKeys: config.approvers.keys,
        warehouseId: warehouseIdOf(config),
      }),
    ),
    ...(setup.workflowBundle ? { workflowBundle: setup.workflowBundle } : { workflowsPath }),
  });
  return { worker, connection };
}
