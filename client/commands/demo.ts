import { createControlStore, WarehouseNotMigrated } from '../../activities/control-store.ts';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
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
import { readSigningKey, type SigningKey } from '../approval-signing.ts';
import { createApproverKey, registerApproverKey } from './approver-key.ts';
import { parseAllowedSigners } from '../../activities/approver-keys.ts';
import { reportFor } from '../../history/reports.ts';
import { historyAnswers } from '../demo-answers.ts';
import { runReport } from './report.ts';
import { approveAndRepair, demoBadTable, describeIncident, dropCorrectedExport, dropCorruptExport, incidentWhen } from '../demo-bad-day.ts';
import { tableContracts } from '../../contracts/index.ts';
import { formatNightlySummary, nightlyWorkflowId, startNightly } from '../nightly.ts';
import { connectClient, workflowUiLink } from '../temporal-client.ts';

/** The demo's week: fixed dates and seed, so every run of the demo tells the same story. */
const demoWeek = { from: '2026-03-02', days: 7, seed: 1, scale: 1 };
/** The night whose orders export arrives corrupt (day 4). */
const badDay = '2026-03-05';

/**
 * `warehouse demo`: the whole story on the embedded default. Starts the dev services if
 * they are not up, generates a week of Sodiwin exports, drops each night's files in the
 * NAS inbox and runs that night. Day 4's orders file arrives corrupt: it is quarantined,
 * Paul is alerted, later nights hold orders back; the corrected file arrives, the repair
 * is approved and replayed. Then a few questions answered from history.
 */
export function registerDemo(program: Command, loadConfig: () => Config): void {
  program
    .command('demo')
    .description('generate a week of exports, run the seven nightly loads, and answer questions from history')
    .option('--keep-running', 'leave the dev services up afterwards')
    .action(async (options: { keepRunning?: boolean }) => {
      // The demo drops each night's files before starting it: no need to wait for Sodiwin to finish writing.
      const base = await withDemoApprover(loadConfig());
      const config: Config = { ...base, load: { ...base.load, stableForMs: Math.min(base.load.stableForMs, 100) } };
      Runtime.install({ logger: new DefaultLogger('ERROR') }); // the demo tells its own story (expected failures are part of it)
      const startedHere = !(await devServicesHealthy(config));
      if (startedHere) runCli(['dev', '--detach']);
      try {
        await tellTheStory(config, await readSigningKey(config));
      } finally {
        if (startedHere && !options.keepRunning) runCli(['dev', 'stop']);
      }
      console.log(`\nTemporal Web UI: ${config.temporal.uiUrl}   (workflows nightly-${demoWeek.from} …)`);
      console.log(`Files: exports in ${join(config.paths.varDir, 'demo', 'sodiwin')}, NAS (inbox, archive, reports) in ${config.paths.nasDir}`);
      if (startedHere && !options.keepRunning) console.log('Services stopped; `warehouse demo --keep-running` leaves them up for `warehouse query`, `status` and the Web UI.');
    });
}

async function tellTheStory(config: Config, approver: SigningKey): Promise<void> {
  const exportsDir = join(config.paths.varDir, 'demo', 'sodiwin');
  const generated = await generateExports({ outDir: exportsDir, ...demoWeek });
  console.log(`Generated ${demoWeek.days} days of Sodiwin exports from ${demoWeek.from} (${generated.orderLines} order lines) in ${exportsDir}\n`);

  const d1 = createD1Client(config.d1);
  if (await weekAlreadyLoaded(d1, lastDay())) {
    console.log(`This warehouse already holds the demo week (${config.paths.varDir}); nothing new to load. Remove ${config.paths.varDir} to tell the story again from the start.\n`);
  } else {
    await runTheWeek(config, exportsDir, approver);
  }
  console.log(await historyAnswers(d1, demoWeek.from, demoWeek.days));
  console.log('\nWhat the dashboards read (warehouse report --list names them all; --as-of D answers from history):\n');
  for (const name of ['revenue-by-rep', 'receivables-aging']) console.log(`${await runReport(d1, reportFor(name)!, {}, false)}\n`);
}

/** Seven nights on an in-process worker; day 4's orders file is corrupt, then corrected and repaired. */
async function runTheWeek(config: Config, exportsDir: string, approver: SigningKey): Promise<void> {
  const inbox = nasLayout(config.paths.nasDir).inbox;
  await mkdir(inbox, { recursive: true });
  const files = await readdir(exportsDir);
  const { worker, connection: workerConnection } = await createWarehouseWorker({ config });
  const { client, connection } = await connectClient(config);
  try {
    await worker.runUntil(async () => {
      for (let day = 0; day < demoWeek.days; day++) {
        const businessDate = dayOf(day);
        const stamp = businessDate.replaceAll('-', '');
        for (const file of files.filter((f) => f.includes(`_${stamp}.`))) await copyFile(join(exportsDir, file), join(inbox, file));
        if (businessDate === badDay) await dropCorruptExport(inbox, businessDate);
        const summary = await (await startNightly(client, config, businessDate)).result();
        console.log(formatNightlySummary(summary));
        if (businessDate === badDay) console.log(describeIncident(await incidentWhen(client, badDay, (s) => s.alert !== 'pending')));
        console.log(`  ${workflowUiLink(config, nightlyWorkflowId(businessDate))}\n`);
      }
      console.log(`Sodiwin sends the corrected ${demoBadTable} export for ${badDay}.`);
      await dropCorrectedExport(exportsDir, inbox, badDay);
      console.log(`${await approveAndRepair(client, config, badDay, approver)}\n`);
    });
  } finally {
    await connection.close();
    await workerConnection.close();
  }
}

const dayOf = (day: number) => new Date(Date.parse(`${demoWeek.from}T00:00:00Z`) + day * 86_400_000).toISOString().slice(0, 10);
const lastDay = () => dayOf(demoWeek.days - 1);

/** True when every table of this warehouse is already loaded through the demo's last day. */
async function weekAlreadyLoaded(d1: ReturnType<typeof createD1Client>, through: string): Promise<boolean> {
  const loaded = await createControlStore(d1).watermarks.tablesLoadedThrough(through).catch((error: unknown) => {
    if (error instanceof WarehouseNotMigrated) return 0; // a new warehouse: the demo's first run migrates it
    throw error;
  });
  return loaded >= tableContracts.length;
}

/**
 * The demo's approver: Paul's demo key under <var>/demo/, registered in the worker's list when
 * that list is the embedded default under <var>. A list configured elsewhere is never touched:
 * the demo then signs with the configured APPROVER_KEY, like any approver.
 */
async function withDemoApprover(config: Config): Promise<Config> {
  if (!config.approvers.keysFile.startsWith(`${config.paths.varDir}/`)) return config;
  const ownKeyFile = join(config.paths.varDir, 'demo', 'approver.key');
  if (!existsSync(ownKeyFile)) await createApproverKey({ name: 'paul', keyFile: ownKeyFile });
  const signer = await readSigningKey(config, ownKeyFile);
  await registerApproverKey(config.approvers.keysFile, `paul ${signer.publicKeyLine} paul@sodimo-warehouse (demo)`);
  const keys = parseAllowedSigners(await readFile(config.approvers.keysFile, 'utf8'), config.approvers.keysFile);
  return { ...config, approvers: { ...config.approvers, keys, ownKeyFile } };
}

function runCli(args: string[]): void {
  const result = spawnSync(process.execPath, [cliEntry, ...args], { stdio: 'inherit', env: process.env });
  if (result.status !== 0) throw new UserError(`warehouse ${args.join(' ')} failed (exit ${result.status})`);
}
