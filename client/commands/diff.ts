import type { Command } from 'commander';
import { contractFor } from '../../contracts/index.ts';
import type { Config } from '../../worker/config.ts';
import { assertKnownTable, UserError } from '../cli-support.ts';
import { formatTableDiff, tableDiff } from '../diff.ts';
import { createReadD1Client } from '../read-d1.ts';
import { isIsoDate } from './run.ts';

/** `warehouse diff --table T --from D1 --to D2 [--key K] [--json]`: what changed in a table between two business dates. */
export function registerDiff(program: Command, loadConfig: () => Config): void {
  program
    .command('diff')
    .description('per key, what changed in a table between two business dates (added, changed with old and new values, tombstoned), from its history')
    .requiredOption('--table <table>', 'the table')
    .requiredOption('--from <YYYY-MM-DD>', 'the earlier business date (the table as loaded through that day)')
    .requiredOption('--to <YYYY-MM-DD>', 'the later business date')
    .option('--key <values>', "one key only: its value (a table with a two-column key, e.g. stock: 'D01,P000123')")
    .option('--json', 'print as JSON')
    .action(async (options: { table: string; from: string; to: string; key?: string; json?: boolean }) => {
      assertKnownTable(options.table);
      for (const [flag, date] of [['--from', options.from], ['--to', options.to]] as const) {
        if (!isIsoDate(date)) throw new UserError(`${flag} must be a real date as YYYY-MM-DD, got "${date}"`);
      }
      if (options.to < options.from) throw new UserError(`--to (${options.to}) is before --from (${options.from})`);
      const contract = contractFor(options.table);
      const key = options.key === undefined ? undefined : contract.key.length === 1 ? [options.key] : options.key.split(',').map((v) => v.trim());
      if (key && key.length !== contract.key.length) throw new UserError(`${contract.table}'s key is ${contract.key.join(', ')}: give --key as ${contract.key.length} values separated by commas, got "${options.key}"`);
      const diff = await tableDiff(createReadD1Client(loadConfig()), { contract, from: options.from, to: options.to, ...(key ? { key } : {}) });
      console.log(options.json ? JSON.stringify(diff, null, 2) : formatTableDiff(diff));
    });
}
