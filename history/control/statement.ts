import type { D1Param } from '../../d1/client.ts';

/**
 * The shape of every control-store statement: SQL text and its bound parameters. The builders in
 * history/control/ return these and run nothing; activities/control-store.ts executes them.
 */
export interface ControlStatement {
  sql: string;
  params: D1Param[];
}

/** `IN ('a', 'b')` for a fixed list of statuses known to the code (literals, so a view or index can use them). */
export function statusIn(statuses: readonly string[]): string {
  return `IN (${statuses.map((s) => `'${s.replace(/'/g, "''")}'`).join(', ')})`;
}
