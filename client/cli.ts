#!/usr/bin/env node
import { WarehouseNotMigrated } from '../activities/control-store.ts';
import { existsSync } from 'node:fs';
import { CommanderError } from 'commander';
import { ConfigError, loadConfig, type Config } from '../worker/config.ts';
import { UserError } from './cli-support.ts';
import { buildProgram } from './program.ts';

if (existsSync('.env')) process.loadEnvFile('.env');

let config: Config | undefined;
/** The configuration, parsed once, on first use (so `--help` works without it). */
const getConfig = (): Config => (config ??= loadConfig());

const program = buildProgram(getConfig);

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
