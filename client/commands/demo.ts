import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import { nasLayout } from '../../activities/nas.ts';
import { createD1Client } from '../../d1/client.ts';
import { generateExports } from '../../generator/index.ts';
import type { Config } from '../../worker/config.ts';
import { createWarehouseWorker } from '../../worker/create-worker.ts';
import { devServicesHealthy } from '../dev/dev-services.ts';
import { cliEntry, UserError } from '../cli-support.ts';
import { historyAnswers } from '../demo-answers.ts';
import { formatNightlySummary, nightlyWorkflowId, startNightly } from '../nightly.ts';
import { connectClient, workflowUiLink } from '../temporal-client.ts';

/** The demo's week: fixed dates and seed, so every run of the demo tells the same story. */
const demoWeek = { from: '2026-03-02', days: 7, seed: 1, scale: 1 };

/**
 * `warehouse demo`: the whole story on the embedded default. Starts the dev services if
 * they are not up, generates a week of Sodiwin exports, drops each night's files in the
 * NAS inbox and runs that night, then answers a few questions from history.
 */
export function registerDemo(program: Command, loadConfig: () => Config): void {
  program
    .command('demo')
    .description('generate a week of exports, run the seven nightly loads, and answer questions from history')
    .option('--keep-running', 'leave the dev services up afterwards')
    .action(async (options: { keepRunning?: boolean }) => {
      // The demo drops each night's files before starting it: no need to wait for Sodiwin to finish writing.
      const base = loadConfig();
      const config: Config = { ...base, load: { ...base.load, stableForMs: Math.min(base.load.stableForMs, 100) } };
      Runtime.install({ logger: new DefaultLogger('WARN') }); // the demo tells its own story
      const startedHere = !(await devServicesHealthy(config));
      if (startedHere) runCli(['dev', '--detach']);
      try {
        await tellTheStory(config);
      } finally {
        if (startedHere && !options.keepRunning) runCli(['dev', 'stop']);
      }
      console.log(`\nTemporal Web UI: ${config.temporal.uiUrl}   (workflows nightly-${demoWeek.from} …)`);
      console.log(`Files: exports in ${join(config.paths.varDir, 'demo', 'sodiwin')}, NAS (inbox, archive, reports) in ${config.paths.nasDir}`);
      if (startedHere && !options.keepRunning) console.log('Services stopped; `warehouse demo --keep-running` leaves them up for `warehouse query`, `status` and the Web UI.');
    });
}

async function tellTheStory(config: Config): Promise<void> {
  const exportsDir = join(config.paths.varDir, 'demo', 'sodiwin');
  const generated = await generateExports({ outDir: exportsDir, ...demoWeek });
  console.log(`Generated ${demoWeek.days} days of Sodiwin exports from ${demoWeek.from} (${generated.orderLines} order lines) in ${exportsDir}\n`);

  const inbox = nasLayout(config.paths.nasDir).inbox;
  await mkdir(inbox, { recursive: true });
  const files = await readdir(exportsDir);
  const { worker, connection: workerConnection } = await createWarehouseWorker({ config });
  const { client, connection } = await connectClient(config);
  try {
    await worker.runUntil(async () => {
      for (let day = 0; day < demoWeek.days; day++) {
        const businessDate = new Date(Date.parse(`${demoWeek.from}T00:00:00Z`) + day * 86_400_000).toISOString().slice(0, 10);
        const stamp = businessDate.replaceAll('-', '');
        for (const file of files.filter((f) => f.includes(`_${stamp}.`))) await copyFile(join(exportsDir, file), join(inbox, file));
        const summary = await (await startNightly(client, config, businessDate)).result();
        console.log(formatNightlySummary(summary));
        console.log(`  ${workflowUiLink(config, nightlyWorkflowId(businessDate))}\n`);
      }
    });
    console.log(await historyAnswers(createD1Client(config.d1), demoWeek.from, demoWeek.days));
  } finally {
    await connection.close();
    await workerConnection.close();
  }
}

function runCli(args: string[]): void {
  const result = spawnSync(process.execPath, [cliEntry, ...args], { stdio: 'inherit', env: process.env });
  if (result.status !== 0) throw new UserError(`warehouse ${args.join(' ')} failed (exit ${result.status})`);
}
