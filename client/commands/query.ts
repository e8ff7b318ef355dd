import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { UserError } from '../cli-support.ts';
import { formatTable } from '../format-table.ts';
import { createReadD1Client } from '../read-d1.ts';
import { assertReadOnly, readOnlyViolation } from '../read-only-sql.ts';

/**
 * `warehouse query "SQL" [--json]`: one read-only SQL statement against the warehouse. The lexer
 * refuses what is not one SELECT, WITH … SELECT or VALUES before the configuration is even read;
 * then D1 compiles `EXPLAIN` of it and a program that writes is refused (client/read-only-sql.ts).
 */
export function registerQuery(program: Command, loadConfig: () => Config): void {
  program
    .command('query')
    .description('run one read-only SQL query against the warehouse (checked by the database engine before it runs)')
    .argument('<sql>', 'a SELECT (or WITH … SELECT, VALUES, EXPLAIN [QUERY PLAN] of one)')
    .option('--json', 'print the rows as JSON')
    .action(async (sql: string, options: { json?: boolean }) => {
      const violation = readOnlyViolation(sql);
      if (violation) throw new UserError(`query refused: ${violation}`);
      const d1 = createReadD1Client(loadConfig());
      const statement = await assertReadOnly(d1, sql);
      const [result] = await d1.raw(statement.sql);
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
