import type { Command } from 'commander';
import { createD1Client } from '../../d1/client.ts';
import type { Config } from '../../worker/config.ts';
import { UserError } from '../cli-support.ts';
import { formatTable } from '../format-table.ts';
import { readOnlyViolation } from '../read-only-sql.ts';

/** `warehouse query "SQL" [--json]`: read-only SQL against the warehouse. */
export function registerQuery(program: Command, loadConfig: () => Config): void {
  program
    .command('query')
    .description('run one read-only SQL query against the warehouse')
    .argument('<sql>', 'a SELECT (or WITH … SELECT, VALUES, EXPLAIN)')
    .option('--json', 'print the rows as JSON')
    .action(async (sql: string, options: { json?: boolean }) => {
      const violation = readOnlyViolation(sql);
      if (violation) throw new UserError(`query refused: ${violation}`);
      const config = loadConfig();
      const d1 = createD1Client(config.d1);
      const [result] = await d1.raw(sql);
      const columns = result?.columns ?? [];
      const rows = result?.rows ?? [];
      if (options.json) {
        console.log(JSON.stringify(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))), null, 2));
      } else {
        console.log(formatTable(columns, rows));
        console.log(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
      }
    });
}
