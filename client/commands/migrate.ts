import type { Command } from 'commander';
import { applyMigrations } from '../../activities/schema.ts';
import { createD1Client } from '../../d1/client.ts';
import type { Config } from '../../worker/config.ts';

/** `warehouse migrate [--dry-run]`: brings the warehouse's schema up to this release (numbered migrations, recorded in d1_migrations). */
export function registerMigrate(program: Command, loadConfig: () => Config): void {
  program
    .command('migrate')
    .description('apply the pending schema migrations to the warehouse (also done at worker start)')
    .option('--dry-run', 'only list the migrations that would be applied')
    .action(async (options: { dryRun?: boolean }) => {
      const report = await applyMigrations(createD1Client(loadConfig().d1), { dryRun: options.dryRun ?? false });
      if (options.dryRun) console.log(report.pending.length ? `would apply: ${report.pending.join(', ')}` : 'the schema is up to date');
      else console.log(report.applied.length ? `applied: ${report.applied.join(', ')}` : 'the schema is up to date');
    });
}
