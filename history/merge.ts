import type { TableContract } from '../contracts/types.ts';
import type { D1Param } from '../d1/client.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';
import { stageTable } from './ddl.ts';
import { revertLoadStatements } from './revert.ts';
import { storedColumns } from './stored-columns.ts';

/**
 * A keyed diff's stage rows (activities/stage.ts): a full snapshot staged as its changes carries
 * the keys absent from the file on negative lines (key columns only, empty hash) and, sent last,
 * the mark on line 0 that says the stage holds a diff. Lines of the file are 1 and up.
 */
export const deltaSentinelLine = 0;
export const absentKeyLine = (n: number): number => -n;

/** What a merge statement does, so publish can count versions from each statement's `changes`. */
export type MergeEffect = 'reverted' | 'closed' | 'tombstoned' | 'inserted';

/** One statement of the merge. */
export interface MergeStatement {
  sql: string;
  params: D1Param[];
  effect: MergeEffect;
}

/** Which staged load to merge into history, as of which business date. */
export interface MergeInput {
  contract: TableContract;
  loadId: string;
  businessDate: string;
}

/**
 * The set-based SCD2 merge of one staged load into its history table (DESIGN §5), to run
 * as one D1 batch (one transaction):
 *
 * 1. revert whatever this load id wrote before, so a retried publish is exact;
 * 2. close the open version of every staged key whose hash changed (or that was a tombstone);
 * 3. full snapshots only: close the open version of every key absent from the file, and
 *    open a tombstone for it (the closed version's columns, `_is_deleted = 1`); when the stage
 *    holds a keyed diff (its mark on line 0), the absent keys are the ones staged as such, and
 *    step 2 has closed them (their empty hash differs);
 * 4. open a version for every staged row of the file that has no open version now (new or changed).
 *
 * Unchanged rows (same hash) write nothing. Every statement touches only the keys of the
 * load or the open versions, so the cost follows the changes, not the history's size. Pure.
 */
export function scd2MergeStatements(input: MergeInput): MergeStatement[] {
  const { contract, loadId, businessDate } = input;
  const t = q(contract.table);
  const s = q(stageTable(contract));
  const keyMatch = contract.key.map((k) => `s.${q(k)} = h.${q(k)}`).join(' AND ');
  const stored = storedColumns(contract);
  const names = stored.map((c) => q(c)).join(', ');
  const stagedNames = stored.map((c) => `s.${q(c)}`).join(', ');
  const inStage = `EXISTS (SELECT 1 FROM ${s} s WHERE s._load_id = ? AND ${keyMatch})`;
  const isDiff = `EXISTS (SELECT 1 FROM ${s} WHERE _load_id = ? AND _line = ${deltaSentinelLine})`;
  const stagedAbsent = `EXISTS (SELECT 1 FROM ${s} s WHERE s._load_id = ? AND s._line < 0 AND ${keyMatch})`;

  const statements: MergeStatement[] = revertLoadStatements(contract, loadId).map((statement) => ({ sql: statement.sql, params: [...(statement.params ?? [])], effect: 'reverted' }));

  // Found from the stage's rows (each through the open-version index), not by reading every open version.
  const openKeyMatch = contract.key.map((k) => `s.${q(k)} = o.${q(k)}`).join(' AND ');
  statements.push({
    effect: 'closed',
    sql: `UPDATE ${t} AS h SET _valid_to = ?, _is_current = 0, _closed_by = ?
WHERE h._version_id IN (SELECT o._version_id FROM ${s} s JOIN ${t} o ON ${openKeyMatch} AND o._is_current = 1 WHERE s._load_id = ? AND (s._row_hash <> o._row_hash OR o._is_deleted = 1))`,
    params: [businessDate, loadId, loadId],
  });

  if (contract.mode === 'full') {
    const tombstone = `INSERT INTO ${t} (${names}, _valid_from, _valid_to, _is_current, _is_deleted, _row_hash, _loaded_by, _closed_by)
SELECT ${stored.map((c) => `h.${q(c)}`).join(', ')}, ?, NULL, 1, 1, h._row_hash, ?, NULL
FROM ${t} AS h WHERE h._closed_by = ? AND h._is_deleted = 0`;
    // The whole file staged: every open key it lacks is absent.
    statements.push({
      effect: 'closed',
      sql: `UPDATE ${t} AS h SET _valid_to = ?, _is_current = 0, _closed_by = ?
WHERE NOT ${isDiff} AND h._is_current = 1 AND h._is_deleted = 0 AND NOT ${inStage}`,
      params: [businessDate, loadId, loadId, loadId],
    });
    statements.push({ effect: 'tombstoned', sql: `${tombstone} AND NOT ${isDiff} AND NOT ${inStage}`, params: [businessDate, loadId, loadId, loadId, loadId] });
    // A keyed diff: the absent keys are staged as such, and closed by step 2.
    statements.push({ effect: 'tombstoned', sql: `${tombstone} AND ${stagedAbsent}`, params: [businessDate, loadId, loadId, loadId] });
  }

  statements.push({
    effect: 'inserted',
    sql: `INSERT INTO ${t} (${names}, _valid_from, _valid_to, _is_current, _is_deleted, _row_hash, _loaded_by, _closed_by)
SELECT ${stagedNames}, ?, NULL, 1, 0, s._row_hash, ?, NULL
FROM ${s} AS s WHERE s._load_id = ? AND s._line > 0 AND NOT EXISTS (SELECT 1 FROM ${t} h WHERE ${keyMatch} AND h._is_current = 1)`,
    params: [businessDate, loadId, loadId],
  });
  return statements;
}
