import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { devServicesHealthy, startDevServices } from '../dev/dev-services.ts';
import { cliEntry, UserError } from '../cli-support.ts';

const pidFileOf = (config: Config) => join(config.paths.devDir, 'dev.pid');
const logFileOf = (config: Config) => join(config.paths.logDir, 'dev.log');

/** `warehouse dev [--detach | stop]`: the Temporal dev server and the local D1 service. */
export function registerDev(program: Command, loadConfig: () => Config): void {
  program
    .command('dev')
    .description('run the Temporal dev server (Web UI) and the local D1 service under var/')
    .argument('[action]', '"stop" stops services started with --detach')
    .option('--detach', 'start in the background and return once both services are healthy')
    .action(async (action: string | undefined, options: { detach?: boolean }) => {
      const config = loadConfig();
      if (action === 'stop') return stopDetached(config);
      if (action !== undefined) throw new UserError(`unknown action "${action}" (expected: stop)`);
      if (options.detach) return startDetached(config);
      return runForeground(config);
    });
}

async function runForeground(config: Config): Promise<void> {
  const services = await startDevServices(config);
  printEndpoints(config);
  console.log('Ctrl-C stops both.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await services.stop();
}

async function startDetached(config: Config): Promise<void> {
  if (await devServicesHealthy(config)) {
    console.log('dev services are already running.');
    return printEndpoints(config);
  }
  await mkdir(config.paths.devDir, { recursive: true });
  await mkdir(config.paths.logDir, { recursive: true });
  const log = openSync(logFileOf(config), 'a');
  const child = spawn(process.execPath, [cliEntry, 'dev'], { detached: true, stdio: ['ignore', log, log], env: process.env });
  closeSync(log);
  let exitCode: number | null | undefined;
  child.once('exit', (code) => (exitCode = code));
  await writeFile(pidFileOf(config), String(child.pid));
  child.unref();

  console.log(`starting dev services (log: ${logFileOf(config)}); a first start may build the Temporal CLI, which takes minutes`);
  const deadline = Date.now() + 15 * 60_000;
  while (!(await devServicesHealthy(config))) {
    if (exitCode !== undefined) throw new UserError(`dev services exited with code ${exitCode}; see ${logFileOf(config)}`);
    if (Date.now() > deadline) throw new UserError(`dev services not healthy after 15 minutes; see ${logFileOf(config)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  printEndpoints(config);
  console.log('`warehouse dev stop` stops them.');
}

async function stopDetached(config: Config): Promise<void> {
  const pidText = await readFile(pidFileOf(config), 'utf8').catch(() => undefined);
  if (!pidText) return console.log('no detached dev services to stop.');
  const pid = Number(pidText);
  if (isAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  await rm(pidFileOf(config), { force: true });
  console.log('dev services stopped.');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function printEndpoints(config: Config): void {
  console.log(`Temporal:   ${config.temporal.address} (namespace ${config.temporal.namespace})`);
  console.log(`Web UI:     ${config.temporal.uiUrl}`);
  console.log(`local D1:   ${config.d1.baseUrl}/accounts/${config.d1.accountId}/d1/database/${config.d1.databaseId}/`);
  console.log(`files:      ${config.paths.varDir}`);
}
