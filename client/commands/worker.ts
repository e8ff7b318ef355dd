import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { applyMigrations } from '../../activities/schema.ts';
import { createD1Client } from '../../d1/client.ts';
import { createWarehouseWorker, shutdownForceMarginMs } from '../../worker/create-worker.ts';

/**
 * `warehouse worker`: runs the worker until SIGINT/SIGTERM. The SDK then shuts it down: no new
 * task, running activities get WORKER_SHUTDOWN_GRACE, then are cancelled (Temporal retries them
 * on the next worker); the process exits 0 once the worker has stopped.
 */
export function registerWorker(program: Command, loadConfig: () => Config): void {
  program
    .command('worker')
    .description('run the Temporal worker (workflows and activities)')
    .action(async () => {
      const config = loadConfig();
      // A deploy is: migrate, then restart the worker. A database migrated by a newer release stops it here.
      const migrated = await applyMigrations(createD1Client(config.d1));
      if (migrated.applied.length > 0) console.log(`schema migrations applied: ${migrated.applied.join(', ')}`);
      if (config.approvers.keys.length === 0) console.warn(`no approver keys in ${config.approvers.keysFile}: nobody can approve a repair (see docs/runbook.md, "Approver keys")`);
      else console.log(`approvers: ${config.approvers.keys.map((k) => `${k.name} (${k.fingerprint})`).join(', ')} from ${config.approvers.keysFile}`);
      const bundle = config.paths.workflowBundle;
      const { worker, connection } = await createWarehouseWorker({ config, ...(bundle ? { workflowBundle: { codePath: bundle } } : {}) });
      console.log(`worker polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address}`);
      let stopRequested = false;
      const stopping = (signal: NodeJS.Signals) => {
        stopRequested = true;
        console.log(`${signal}: worker stopping; running activities have ${config.worker.shutdownGraceMs / 1000} s (WORKER_SHUTDOWN_GRACE), then are cancelled and retried by the next worker`);
      };
      process.once('SIGTERM', stopping).once('SIGINT', stopping);
      try {
        await worker.run();
      } catch (error) {
        // A failed worker, or one whose activities did not stop in time (GracefulShutdownPeriodExpiredError),
        // may leave activities running that hold the event loop: the process exits anyway once the error is reported.
        setTimeout(() => process.exit(), 2_000).unref();
        if (stopRequested) console.error(`worker: an activity was still running ${shutdownForceMarginMs / 1000} s after WORKER_SHUTDOWN_GRACE, cancelled but not stopping; exiting without it (Temporal retries it on the next worker)`);
        throw error;
      } finally {
        process.off('SIGTERM', stopping).off('SIGINT', stopping);
      }
      await connection.close();
      console.log('worker stopped');
    });
}
