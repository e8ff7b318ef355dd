import type { Command } from 'commander';
import { tableContracts } from '../../contracts/index.ts';
import type { Config } from '../../worker/config.ts';
import { UserError } from '../cli-support.ts';
import { tableChecksum } from '../checksum.ts';
import { formatTable } from '../format-table.ts';
import { createReadD1Client } from '../read-d1.ts';

/** `warehouse checksum [--table T] [--json]`: per-table versions, current rows and content hash. */
export function registerChecksum(program: Command, loadConfig: () => Config): void {
  program
    .command('checksum')
    .description('per-table version count, current rows and content hash (load ids excluded)')
    .option('--table <name>', 'one table only')
    .option('--json', 'print as JSON')
    .action(async (options: { table?: string; json?: boolean }) => {
      const contracts = options.table ? tableContracts.filter((c) => c.table === options.table) : tableContracts;
      if (contracts.length === 0) throw new UserError(`unknown table "${options.table}"; known: ${tableContracts.map((c) => c.table).join(', ')}`);
      const d1 = createReadD1Client(loadConfig());
      const sums = [];
      for (const contract of contracts) sums.push(await tableChecksum(d1, contract));
      if (options.json) return console.log(JSON.stringify(sums, null, 2));
      console.log(formatTable(['table', 'versions', 'current', 'sha256'], sums.map((s) => [s.table, s.versions, s.current, s.sha256])));
    });
}
