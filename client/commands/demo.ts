import { spawnSync } from 'node:child_process';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { createWarehouseWorker } from '../../worker/create-worker.ts';
import { warehouseProbe } from '../../workflows/index.ts';
import { devServicesHealthy } from '../dev/dev-services.ts';
import { cliEntry, UserError } from '../cli-support.ts';
import { connectClient, workflowUiLink } from '../temporal-client.ts';

/**
 * `warehouse demo`: the whole story on the embedded default. Today it proves the
 * wiring (services up, a workflow whose activity writes to D1 and reads it back);
 * the nightly-run issue extends it to a week of exports.
 */
export function registerDemo(program: Command, loadConfig: () => Config): void {
  program
    .command('demo')
    .description('start the services, run a workflow that writes to and reads from D1, and report')
    .option('--keep-running', 'leave the dev services up afterwards')
    .action(async (options: { keepRunning?: boolean }) => {
      const config = loadConfig();
      Runtime.install({ logger: new DefaultLogger('WARN') }); // the demo tells its own story
      const startedHere = !(await devServicesHealthy(config));
      if (startedHere) runCli(['dev', '--detach']);
      try {
        await runProbe(config);
      } finally {
        if (startedHere && !options.keepRunning) runCli(['dev', 'stop']);
      }
      console.log(`\nWeb UI: ${config.temporal.uiUrl}   files: ${config.paths.varDir}`);
      if (startedHere && !options.keepRunning) console.log('services stopped; `warehouse demo --keep-running` leaves them up.');
    });
}

async function runProbe(config: Config): Promise<void> {
  const { worker, connection: workerConnection } = await createWarehouseWorker({ config });
  const { client, connection } = await connectClient(config);
  const workflowId = `demo-probe-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    const result = await worker.runUntil(
      client.workflow.execute(warehouseProbe, { workflowId, taskQueue: config.temporal.taskQueue, args: [{ probeId: workflowId, note: 'Sodimo warehouse wiring check — déjà vu, 12,50 €' }] }),
    );
    console.log(`workflow ${workflowId} completed: ${workflowUiLink(config, workflowId)}`);
    console.log(`  wrote and read back from D1: probe_id=${result.probeId} note="${result.note}" at ${result.writtenAt}`);
    console.log(`  probes in the warehouse: ${result.probesInWarehouse}`);
  } finally {
    await connection.close();
    await workerConnection.close();
  }
}

function runCli(args: string[]): void {
  const result = spawnSync(process.execPath, [cliEntry, ...args], { stdio: 'inherit', env: process.env });
  if (result.status !== 0) throw new UserError(`warehouse ${args.join(' ')} failed (exit ${result.status})`);
}
