import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { createWarehouseWorker } from '../../worker/create-worker.ts';

/** `warehouse worker`: runs the worker until SIGINT/SIGTERM (the SDK shuts it down gracefully). */
export function registerWorker(program: Command, loadConfig: () => Config): void {
  program
    .command('worker')
    .description('run the Temporal worker (workflows and activities)')
    .action(async () => {
      const config = loadConfig();
      const bundle = config.paths.workflowBundle;
      const { worker, connection } = await createWarehouseWorker({ config, ...(bundle ? { workflowBundle: { codePath: bundle } } : {}) });
      console.log(`worker polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address}`);
      try {
        await worker.run();
      } finally {
        await connection.close();
      }
    });
}
