import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { nasLayout } from '../../activities/nas.ts';
import type { Config } from '../../worker/config.ts';
import { devEndpoints, devServicesHealthy, startDevServices } from '../dev/dev-services.ts';
import { describeHolder, portHolder, portInUse } from '../dev/port-holder.ts';
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
  await createDevInbox(config);
  const services = await startDevServices(config);
  printEndpoints(config);
  console.log('Ctrl-C stops both.');
  // Miniflare loads signal-exit, which may re-raise SIGTERM and end this process before a
  // later listener's promise settles: ours goes first, and the stop's signals to the
  // children are sent synchronously inside it.
  await new Promise<void>((resolve) => {
    const stop = () => void services.stop().finally(resolve);
    process.prependOnceListener('SIGINT', stop);
    process.prependOnceListener('SIGTERM', stop);
  });
}

async function startDetached(config: Config): Promise<void> {
  const group = await detachedGroup(config);
  if (group !== undefined) {
    if (!(await devServicesHealthy(config))) {
      throw new UserError(`dev services (process group ${group}) are running but not answering; \`warehouse dev stop\` ends them, see ${logFileOf(config)}`);
    }
    console.log('dev services are already running.');
    return printEndpoints(config);
  }
  await refuseHeldPorts(config);
  await mkdir(config.paths.devDir, { recursive: true });
  await mkdir(config.paths.logDir, { recursive: true });
  const log = openSync(logFileOf(config), 'a');
  // detached: its own process group, which every service it starts joins; stop signals the group.
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

/** Ends the detached services' whole process group (the Temporal server and Miniflare's runtime with it), then waits for their ports to close. */
async function stopDetached(config: Config): Promise<void> {
  const group = await detachedGroup(config);
  if (group === undefined) {
    await rm(pidFileOf(config), { force: true });
    return console.log('no detached dev services to stop.');
  }
  signalGroup(group, 'SIGTERM');
  if (!(await until(() => !groupAlive(group), 20_000))) signalGroup(group, 'SIGKILL');
  await until(() => !groupAlive(group), 5_000);
  const ports = Object.values(devPorts(config));
  if (!(await until(async () => !(await Promise.all(ports.map(portInUse))).some(Boolean), 10_000))) {
    throw new UserError(`dev services stopped, but a port is still in use: ${(await heldPorts(config)).join('; ')}`);
  }
  await rm(pidFileOf(config), { force: true });
  console.log(`dev services stopped (process group ${group}); ports ${ports.join(', ')} are free.`);
}

/** The process group recorded by --detach, if any process of it is still alive. */
async function detachedGroup(config: Config): Promise<number | undefined> {
  const pid = Number(await readFile(pidFileOf(config), 'utf8').catch(() => ''));
  return Number.isInteger(pid) && pid > 1 && groupAlive(pid) ? pid : undefined;
}

/** Refuses to start over a port something else holds (e.g. a stale server), naming what holds it. */
async function refuseHeldPorts(config: Config): Promise<void> {
  const held = await heldPorts(config);
  if (held.length > 0) {
    throw new UserError(`${held.join('; ')}; warehouse dev did not start it, so it will not reuse or stop it: end that process, or point TEMPORAL_ADDRESS, TEMPORAL_UI_URL and D1_API_URL at free ports`);
  }
}

async function heldPorts(config: Config): Promise<string[]> {
  const held: string[] = [];
  for (const [what, port] of Object.entries(devPorts(config))) {
    if (await portInUse(port)) held.push(describeHolder(await portHolder(port), what));
  }
  return held;
}

function devPorts(config: Config): Record<string, number> {
  const ends = devEndpoints(config);
  return { Temporal: ends.temporalPort, 'Web UI': ends.uiPort, 'local D1': ends.d1Port };
}

function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // already gone
  }
}

function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

function printEndpoints(config: Config): void {
  console.log(`Temporal:   ${config.temporal.address} (namespace ${config.temporal.namespace})`);
  console.log(`Web UI:     ${config.temporal.uiUrl}`);
  console.log(`local D1:   ${config.d1.baseUrl}/accounts/${config.d1.accountId}/d1/database/${config.d1.databaseId}/`);
  console.log(`files:      ${config.paths.varDir}`);
  if (devNas(config)) console.log(`inbox:      ${nasLayout(config.paths.nasDir).inbox} (drop Sodiwin's exports here)`);
}

/** True when the NAS is the development one under var/ (the default), not a mounted share. */
const devNas = (config: Config) => !relative(config.paths.varDir, config.paths.nasDir).startsWith('..');

/**
 * The development NAS's inbox, created so exports can be dropped in. A mounted NAS's inbox is
 * never created: there an absent inbox means the share is not mounted, and the night says so
 * (one incident, one email) instead of waiting on an empty local folder.
 */
async function createDevInbox(config: Config): Promise<void> {
  if (devNas(config)) await mkdir(nasLayout(config.paths.nasDir).inbox, { recursive: true });
}
