import { Command } from 'commander';
import type { Config } from '../worker/config.ts';
import { registerApprove } from './commands/approve.ts';
import { registerApproverKeyCommand } from './commands/approver-key.ts';
import { registerBackfill } from './commands/backfill.ts';
import { registerChecksum } from './commands/checksum.ts';
import { registerDemo } from './commands/demo.ts';
import { registerDev } from './commands/dev.ts';
import { registerDiff } from './commands/diff.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerIncidents } from './commands/incidents.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerParity } from './commands/parity.ts';
import { registerQuery } from './commands/query.ts';
import { registerRebuild } from './commands/rebuild.ts';
import { registerRecheck } from './commands/recheck.ts';
import { registerRejects } from './commands/rejects.ts';
import { registerReport } from './commands/report.ts';
import { registerRollback } from './commands/rollback.ts';
import { registerRun } from './commands/run.ts';
import { registerSchedule } from './commands/schedule.ts';
import { registerStatus } from './commands/status.ts';
import { registerWorker } from './commands/worker.ts';

/** Where commander writes its own messages (usage errors, help): the terminal unless a test collects them. */
export interface ProgramOutput {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

/**
 * The `warehouse` command line: every command with its options, parsed by commander, which
 * throws a CommanderError instead of exiting. The configuration is read on first use, so
 * `--help` and usage errors need none. client/cli.ts runs it; the docs test parses every
 * command line of the README and the runbook with it.
 */
export function buildProgram(getConfig: () => Config, output?: ProgramOutput): Command {
  const program = new Command('warehouse')
    .description("Sodimo's nightly warehouse: Sodiwin's exports into Cloudflare D1, with full history")
    .exitOverride()
    .showHelpAfterError(false);
  if (output) program.configureOutput(output);

  registerDemo(program, getConfig);
  registerDev(program, getConfig);
  registerWorker(program, getConfig);
  registerGenerate(program, getConfig);
  registerRun(program, getConfig);
  registerStatus(program, getConfig);
  registerChecksum(program, getConfig);
  registerDiff(program, getConfig);
  registerQuery(program, getConfig);
  registerReport(program, getConfig);
  registerIncidents(program, getConfig);
  registerRejects(program, getConfig);
  registerApprove(program, getConfig);
  registerApproverKeyCommand(program, getConfig);
  registerRollback(program, getConfig);
  registerSchedule(program, getConfig);
  registerRecheck(program, getConfig);
  registerRebuild(program, getConfig);
  registerBackfill(program, getConfig);
  registerParity(program, getConfig);
  registerMigrate(program, getConfig);
  return program;
}
