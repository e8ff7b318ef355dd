import { fileURLToPath } from 'node:url';

/** The CLI's entry file, for commands that start another `warehouse` process. */
export const cliEntry = fileURLToPath(new URL('./cli.ts', import.meta.url));

/** A mistake the user can fix: printed as one line, no stack trace, exit code 1. */
export class UserError extends Error {
  readonly type = 'UserError';
}
