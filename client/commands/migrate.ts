import type { Command } from 'commander';
import { applyMigrations, type MigrationReport } from '../../activities/schema.ts';
import { createD1Client } from '../../d1/client.ts';
import type { Config } from '../../worker/config.ts';
import { createProgress } from '../progress.ts';

/** What a migrate did (or would do), one line per step, for the operator. */
export function migrationLines(report: MigrationReport, dryRun: boolean): string[] {
  const lines = [
    ...(dryRun ? report.pending.map((name) => `would apply migration ${name}`) : report.applied.map((name) => `applied migration ${name}`)),
    ...report.tables.map((table) => `${dryRun ? 'would create' : 'created'} history table ${table}`),
    ...report.contract.map((change) => `${dryRun ? 'would change' : 'changed'} contract: ${change}`),
    ...report.views.created.map((name) => `${dryRun ? 'would create' : 'created'} view ${name}`),
    ...report.views.replaced.map((name) => `${dryRun ? 'would replace' : 'replaced'} view ${name} (its SQL changed)`),
  ];
  return lines.length > 0 ? lines : ['the schema is up to date'];
}

/**
 * `warehouse migrate [--dry-run]`: brings the warehouse's schema up to this release: numbered
 * migrations (recorded in d1_migrations), the contract diff, the views. A refused contract
 * change fails with ContractChangeRefused and changes nothing.
 */
export function registerMigrate(program: Command, loadConfig: () => Config): void {
  program
    .command('migrate')
    .description('apply the pending schema migrations, contract changes and view changes to the warehouse (also done at worker start)')
    .option('--dry-run', 'only list what would be applied')
    .action(async (options: { dryRun?: boolean }) => {
      const dryRun = options.dryRun ?? false;
      const progress = createProgress();
      const report = await applyMigrations(createD1Client(loadConfig().d1), { dryRun, onStep: (step) => progress.update(`migrate: ${step}…`) }).finally(() => progress.end());
      for (const line of migrationLines(report, dryRun)) console.log(line);
    });
}
