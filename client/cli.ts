#!/usr/bin/env node
import { WarehouseNotMigrated } from '../activities/control-store.ts';
import { existsSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig, type Config } from '../worker/config.ts';
import { UserError } from './cli-support.ts';
import { registerApprove } from './commands/approve.ts';
import { registerApproverKeyCommand } from './commands/approver-key.ts';
import { registerBackfill } from './commands/backfill.ts';
import { registerChecksum } from './commands/checksum.ts';
import { registerDemo } from './commands/demo.ts';
import { registerDev } from './commands/dev.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerIncidents } from './commands/incidents.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerParity } from './commands/parity.ts';
import { registerQuery } from './commands/query.ts';
import { registerRebuild } from './commands/rebuild.ts';
import { registerRecheck } from './commands/recheck.ts';
import { registerReport } from './commands/report.ts';
import { registerRollback } from './commands/rollback.ts';
import { registerRun } from './commands/run.ts';
import { registerSchedule } from './commands/schedule.ts';
import { registerStatus } from './commands/status.ts';
import { registerWorker } from './commands/worker.ts';

if (existsSync('.env')) process.loadEnvFile('.env');

let config: Config | undefined;
/** The configuration, parsed once, on first use (so `--help` works without it). */
const getConfig = (): Config => (config ??= loadConfig());

const program = new Command('warehouse')
  .description("Sodimo's nightly warehouse: Sodiwin's exports into Cloudflare D1, with full history")
  .exitOverride()
  .showHelpAfterError(false);

registerDemo(program, getConfig);
registerDev(program, getConfig);
registerWorker(program, getConfig);
registerGenerate(program, getConfig);
registerRun(program, getConfig);
registerStatus(program, getConfig);
registerChecksum(program, getConfig);
registerQuery(program, getConfig);
registerReport(program, getConfig);
registerIncidents(program, getConfig);
registerApprove(program, getConfig);
registerApproverKeyCommand(program, getConfig);
registerRollback(program, getConfig);
registerSchedule(program, getConfig);
registerRecheck(program, getConfig);
registerRebuild(program, getConfig);
registerBackfill(program, getConfig);
registerParity(program, getConfig);
registerMigrate(program, getConfig);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode; // commander already printed it
  if (error instanceof UserError || error instanceof ConfigError || error instanceof WarehouseNotMigrated) {
    console.error(`warehouse: ${error.message}`);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`warehouse: ${message}`);
  if (process.env.WAREHOUSE_DEBUG && error instanceof Error) console.error(error.stack);
  else console.error('(set WAREHOUSE_DEBUG=1 to see the stack trace)');
  return 1;
}
