import type { TableContract } from '../contracts/types.ts';
import type { D1Statement } from '../d1/client.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';
import { stageTable } from './ddl.ts';

/**
 * Revert-by-load: delete the versions the load inserted, then reopen the versions it
 * closed. Exact because every version carries `_loaded_by` / `_closed_by`; a no-op for
 * a load that wrote nothing. Order matters: the reopened version must not meet the
 * open version that replaced it (one open version per key).
 */
export function revertLoadStatements(contract: TableContract, loadId: string): D1Statement[] {
  const t = q(contract.table);
  return [
    { sql: `DELETE FROM ${t} WHERE _loaded_by = ?`, params: [loadId] },
    { sql: `UPDATE ${t} SET _valid_to = NULL, _is_current = 1, _closed_by = NULL WHERE _closed_by = ?`, params: [loadId] },
  ];
}

/** Drops a load's rows from the stage table (after verify, or when the load is reverted). */
export function clearStageStatements(contract: TableContract, loadId: string): D1Statement[] {
  return [{ sql: `DELETE FROM ${q(stageTable(contract))} WHERE _load_id = ?`, params: [loadId] }];
}
