import { fileURLToPath } from 'node:url';
import { tableContracts } from '../contracts/index.ts';

/** The CLI's entry file, for commands that start another `warehouse` process. */
export const cliEntry = fileURLToPath(new URL('./cli.ts', import.meta.url));

/** A mistake the user can fix: printed as one line, no stack trace, exit code 1. */
export class UserError extends Error {
  readonly type = 'UserError';
}

/** Refuses a `--table` that is not one of the contracts' tables, listing them. */
export function assertKnownTable(table: string | undefined): void {
  if (table !== undefined && !tableContracts.some((c) => c.table === table)) {
    throw new UserError(`unknown table "${table}"; the tables are ${tableContracts.map((c) => c.table).join(', ')}`);
  }
}
