import type { ColumnType, TableContract } from '../contracts/types.ts';
import { quoteIdentifier as q, sqlLiteral as sqlString } from '../d1/pack.ts';
import { presentedColumns, storedName } from './stored-columns.ts';

/** The SQLite type a column is stored as: a decimal as INTEGER units (`<name>_units`, history/stored-columns.ts). */
export function sqlType(type: ColumnType): 'TEXT' | 'INTEGER' {
  if (type.kind === 'integer' || type.kind === 'decimal') return 'INTEGER';
  return 'TEXT';
}

/** The history columns every table carries after its business columns (DESIGN §5). */
export const historyColumns = ['_valid_from', '_valid_to', '_is_current', '_is_deleted', '_row_hash', '_loaded_by', '_closed_by'] as const;

/** A view the warehouse defines: its name and the SELECT it stands for (history/views.ts keeps it current). */
export interface ViewDefinition {
  name: string;
  sql: string;
}

/**
 * `<t>_current`: the open, not deleted version of every key, with the business columns, a
 * decimal as its value (`amount`) and as its exact units (`amount_units`, for sums).
 */
export function currentView(contract: TableContract): ViewDefinition {
  const names = presentedColumns(contract).join(', ');
  return { name: `${contract.table}_current`, sql: `SELECT ${names}, _valid_from, _loaded_by FROM ${q(contract.table)} WHERE _is_current = 1 AND _is_deleted = 0` };
}

/** The stage table a load's valid rows go to before the merge. */
export function stageTable(contract: TableContract): string {
  return `_stage_${contract.table}`;
}

/**
 * The DDL of one table, idempotent: the history table, its indexes (one open version per
 * key, lookups by load id for revert, by key and date for as-of), the `<t>_current` view
 * and the stage table. Pure.
 */
export function historyDdl(contract: TableContract): string[] {
  const t = contract.table;
  const business = contract.columns.map((c) => `${q(storedName(c))} ${sqlType(c.type)}`);
  const key = contract.key.map(q).join(', ');
  const current = currentView(contract);
  return [
    `CREATE TABLE IF NOT EXISTS ${q(t)} (
  _version_id INTEGER PRIMARY KEY AUTOINCREMENT,
  ${business.join(',\n  ')},
  _valid_from TEXT NOT NULL,
  _valid_to TEXT,
  _is_current INTEGER NOT NULL CHECK (_is_current IN (0, 1)),
  _is_deleted INTEGER NOT NULL DEFAULT 0 CHECK (_is_deleted IN (0, 1)),
  _row_hash TEXT NOT NULL,
  _loaded_by TEXT NOT NULL,
  _closed_by TEXT
)`,
    `CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${t}__current_key`)} ON ${q(t)} (${key}) WHERE _is_current = 1`,
    `CREATE INDEX IF NOT EXISTS ${q(`${t}__key_valid_from`)} ON ${q(t)} (${key}, _valid_from)`,
    `CREATE INDEX IF NOT EXISTS ${q(`${t}__loaded_by`)} ON ${q(t)} (_loaded_by)`,
    `CREATE INDEX IF NOT EXISTS ${q(`${t}__closed_by`)} ON ${q(t)} (_closed_by) WHERE _closed_by IS NOT NULL`,
    `CREATE VIEW IF NOT EXISTS ${q(current.name)} AS ${current.sql}`,
    `CREATE TABLE IF NOT EXISTS ${q(stageTable(contract))} (
  _load_id TEXT NOT NULL,
  _line INTEGER NOT NULL,
  ${business.join(',\n  ')},
  _row_hash TEXT NOT NULL
)`,
    `CREATE INDEX IF NOT EXISTS ${q(`${stageTable(contract)}__key`)} ON ${q(stageTable(contract))} (_load_id, ${key})`,
    // One row per line of a load, so a stage batch resent after its answer was lost adds nothing
    // (stage inserts ON CONFLICT DO NOTHING). A stage table from before the index may hold such
    // doubles: keep the first of each, or the index could not be built.
    `DELETE FROM ${q(stageTable(contract))}
WHERE NOT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ${sqlString(`${stageTable(contract)}__load_line`)})
  AND rowid NOT IN (SELECT min(rowid) FROM ${q(stageTable(contract))} GROUP BY _load_id, _line)`,
    `CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${stageTable(contract)}__load_line`)} ON ${q(stageTable(contract))} (_load_id, _line)`,
  ];
}
