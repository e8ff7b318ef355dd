import type { ColumnContract, ColumnType, TableContract } from '../contracts/types.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';
import { sqlType, stageTable } from './ddl.ts';
import { storedName, unitsColumn } from './stored-columns.ts';

/**
 * A contract edit as a migration: the code's contracts compared with the one recorded in
 * etl_contract_columns (what each history table was built and migrated with). What is safe is
 * applied without touching a row but one: a new column is added (rows before it hold NULL; a
 * decimal as `<name>_units`), a widened decimal scale multiplies the stored units by
 * 10^(new - old) (the amounts stay the same; `hashScale` keeps their row hash), another widened
 * type or a renamed Sodiwin header (its old name kept in previousSources, so archived files still
 * read) is only recorded. What would lose or reinterpret history is
 * refused with the table, the column, the old and new definition and what to do. Pure.
 */

/** One column as etl_contract_columns records it. */
export interface RecordedColumn {
  table: string;
  column: string;
  /** 0-based, in Sodiwin's order. */
  position: number;
  source: string;
  type: ColumnType;
  addedIn: string | null;
}

/** A change migrate applies. */
export type ContractChange =
  | { kind: 'table-recorded'; table: string }
  | { kind: 'column-added'; table: string; column: string; definition: string }
  | { kind: 'column-widened'; table: string; column: string; from: string; to: string; rescale?: { from: number; to: number } }
  | { kind: 'header-renamed'; table: string; column: string; from: string; to: string }
  | { kind: 'column-moved'; table: string; column: string; from: number; to: number };

/** A change migrate refuses, said so an operator knows what to edit. */
export interface ContractRefusal {
  table: string;
  column: string;
  was: string;
  now: string;
  why: string;
  advice: string;
}

/** What differs between the recorded contract and the code's. */
export interface ContractDiff {
  changes: ContractChange[];
  refusals: ContractRefusal[];
}

/** A type as an operator reads it, e.g. `decimal(scale 2, min 0)`. */
export function describeType(type: ColumnType): string {
  switch (type.kind) {
    case 'text':
      return `text(max ${type.maxLength})`;
    case 'integer':
      return `integer(${[type.min !== undefined ? `min ${type.min}` : '', type.max !== undefined ? `max ${type.max}` : ''].filter(Boolean).join(', ')})`;
    case 'decimal':
      return `decimal(scale ${type.scale}${type.min !== undefined ? `, min ${type.min}` : ''}${type.hashScale !== undefined ? `, hashScale ${type.hashScale}` : ''})`;
    case 'date':
      return 'date';
    case 'enum':
      return `enum(${type.values.join('|')})`;
  }
}

/** A column's definition in messages: `"HEADER" type [addedIn x]`. */
function describe(column: { source: string; type: ColumnType; addedIn?: string | null }): string {
  return `"${column.source}" ${describeType(column.type)}${column.addedIn ? ` addedIn ${column.addedIn}` : ''}`;
}

const lowerOrEqual = (now: number | undefined, was: number | undefined) => now === undefined || (was !== undefined && now <= was);
const higherOrEqual = (now: number | undefined, was: number | undefined) => now === undefined || (was !== undefined && now >= was);

/**
 * How `now` relates to `was`: the same, wider (every value `was` accepted is still valid and
 * stored and hashed the same), or not (narrowed or another type), with the reason.
 */
export function compareTypes(was: ColumnType, now: ColumnType): { verdict: 'same' | 'wider' } | { verdict: 'refused'; why: string } {
  if (JSON.stringify(was) === JSON.stringify(now)) return { verdict: 'same' };
  if (was.kind !== now.kind || sqlType(was) !== sqlType(now)) return { verdict: 'refused', why: `the type changes from ${was.kind} to ${now.kind}: the values already loaded would be read differently` };
  const narrowed = (why: string) => ({ verdict: 'refused' as const, why: `the type is narrowed (${why}): values already loaded may not fit it` });
  if (was.kind === 'text' && now.kind === 'text') return now.maxLength >= was.maxLength ? { verdict: 'wider' } : narrowed('shorter maximum length');
  if (was.kind === 'integer' && now.kind === 'integer') return lowerOrEqual(now.min, was.min) && higherOrEqual(now.max, was.max) ? { verdict: 'wider' } : narrowed('tighter bounds');
  if (was.kind === 'enum' && now.kind === 'enum') return was.values.every((v) => now.values.includes(v)) ? { verdict: 'wider' } : narrowed(`${was.values.filter((v) => !now.values.includes(v)).join(', ')} no longer allowed`);
  if (was.kind === 'decimal' && now.kind === 'decimal') {
    if (now.scale < was.scale) return narrowed('fewer decimals');
    if (!lowerOrEqual(now.min, was.min)) return narrowed('a higher minimum');
    const hashedAt = was.hashScale ?? was.scale;
    if ((now.hashScale ?? now.scale) !== hashedAt) {
      return { verdict: 'refused', why: `the row hash of the rows already loaded is computed at scale ${hashedAt}; set hashScale: ${hashedAt} on the column so they keep it (activities/row-hash.ts)` };
    }
    return { verdict: 'wider' };
  }
  return { verdict: 'same' };
}

/** The recorded contract and the code's, table by table. Tables the record does not know yet are recorded as they are. Pure. */
export function diffContracts(recorded: readonly RecordedColumn[], contracts: readonly TableContract[]): ContractDiff {
  const changes: ContractChange[] = [];
  const refusals: ContractRefusal[] = [];
  for (const contract of contracts) {
    refusals.push(...ambiguousHeaders(contract));
    const was = recorded.filter((r) => r.table === contract.table);
    if (was.length === 0) {
      changes.push({ kind: 'table-recorded', table: contract.table });
      continue;
    }
    diffTable(contract, was, changes, refusals);
  }
  for (const table of new Set(recorded.map((r) => r.table))) {
    if (contracts.some((c) => c.table === table)) continue;
    refusals.push({
      table, column: '*', was: 'a table of the contract', now: 'absent from the contract', why: 'its history would no longer be loaded, checked or reported',
      advice: 'keep the table in contracts/index.ts; to retire it, drop it and its etl_contract_columns rows in a numbered migration after a D1 export',
    });
  }
  return { changes, refusals };
}

function diffTable(contract: TableContract, was: readonly RecordedColumn[], changes: ContractChange[], refusals: ContractRefusal[]): void {
  const t = contract.table;
  const added = contract.columns.filter((c) => !was.some((r) => r.column === c.name));
  for (const old of was) {
    const now = contract.columns.find((c) => c.name === old.column);
    const position = contract.columns.findIndex((c) => c.name === old.column);
    if (!now) {
      const renamed = added.find((c) => c.source === old.source);
      refusals.push(renamed
        ? { table: t, column: old.column, was: `${old.column} ${describe(old)}`, now: `${renamed.name} ${describe(renamed)}`, why: 'the warehouse column is renamed: readers, reports and history know it by its old name',
          advice: `keep the name ${old.column} (the Sodiwin header may change freely), or keep it and add ${renamed.name} as a new column with addedIn` }
        : { table: t, column: old.column, was: describe(old), now: 'absent from the contract', why: 'the column would be dropped with the values already loaded',
          advice: 'keep the column in the contract (optional, if Sodiwin stops filling it); to really drop it, write a numbered migration that rebuilds the table, after a D1 export' });
      continue;
    }
    const verdict = compareTypes(old.type, now.type);
    if (verdict.verdict === 'refused') {
      refusals.push({ table: t, column: old.column, was: describe(old), now: describe(now), why: verdict.why, advice: 'keep the old definition, or add a new column with the new one (addedIn) and fill it from the next file' });
    } else if (verdict.verdict === 'wider') {
      const rescale = old.type.kind === 'decimal' && now.type.kind === 'decimal' && now.type.scale > old.type.scale ? { rescale: { from: old.type.scale, to: now.type.scale } } : {};
      changes.push({ kind: 'column-widened', table: t, column: old.column, from: describeType(old.type), to: describeType(now.type), ...rescale });
    }
    if ((now.addedIn ?? null) !== old.addedIn) {
      refusals.push({ table: t, column: old.column, was: describe(old), now: describe(now), why: 'addedIn decides whether a NULL is part of the row hash: changing it changes the hash of rows already loaded',
        advice: old.addedIn ? `put back addedIn: '${old.addedIn}'` : 'remove addedIn from this column (it was there from the start)' });
    }
    if (now.source !== old.source && !(now.previousSources ?? []).includes(old.source)) {
      refusals.push({ table: t, column: old.column, was: describe(old), now: describe(now), why: `the files archived so far carry the header "${old.source}": a rewind or a rebuild replaying them would refuse them`,
        advice: `list the earlier header on the column: previousSources: [${[...(now.previousSources ?? []), old.source].map((h) => `'${h}'`).join(', ')}]` });
    } else if (now.source !== old.source) {
      changes.push({ kind: 'header-renamed', table: t, column: old.column, from: old.source, to: now.source });
    }
    if (position !== old.position) changes.push({ kind: 'column-moved', table: t, column: old.column, from: old.position, to: position });
  }
  const oldOrder = [...was].sort((a, b) => a.position - b.position).map((r) => r.column).filter((name) => contract.columns.some((c) => c.name === name));
  const newOrder = contract.columns.map((c) => c.name).filter((name) => oldOrder.includes(name));
  const firstMoved = newOrder.findIndex((name, i) => oldOrder[i] !== name);
  if (firstMoved >= 0) {
    refusals.push({ table: t, column: newOrder[firstMoved]!, was: `columns in the order ${oldOrder.join(', ')}`, now: `${newOrder.join(', ')}`,
      why: 'the row hash and the checksum take the columns in contract order: every row already loaded would hash differently and get a spurious version',
      advice: 'keep the columns already loaded in their order (a new column may go anywhere); if Sodiwin really reordered its file, that needs a numbered migration recomputing _row_hash, after a D1 export' });
  }
  for (const column of added) {
    if (was.some((r) => r.source === column.source && !contract.columns.some((c) => c.name === r.column))) continue; // refused above as a rename
    if (column.addedIn === undefined) {
      refusals.push({ table: t, column: column.name, was: 'absent', now: describe(column), why: 'a new column needs addedIn, or its NULL in the rows already loaded would change their row hash and open a spurious version of each',
        advice: `add addedIn (the release or date it joined, e.g. addedIn: '2027-01') to ${column.name} in the contract of ${t}` });
      continue;
    }
    changes.push({ kind: 'column-added', table: t, column: column.name, definition: describe(column) });
  }
}

/**
 * A header (current or earlier) that two columns of a table answer to: an archived file using it
 * could not be read without guessing which column it is.
 */
function ambiguousHeaders(contract: TableContract): ContractRefusal[] {
  const refusals: ContractRefusal[] = [];
  const owner = new Map<string, string>();
  for (const column of contract.columns) {
    for (const header of [column.source, ...(column.previousSources ?? [])]) {
      const other = owner.get(header);
      if (other !== undefined && other !== column.name) {
        refusals.push({ table: contract.table, column: column.name, was: `"${header}" a header of ${other}`, now: `"${header}" also a header of ${column.name}`,
          why: 'a file with that header could be read as either column', advice: `keep "${header}" in one column's source or previousSources only` });
      }
      owner.set(header, owner.get(header) ?? column.name);
    }
  }
  return refusals;
}

/** The refusals as one message, each naming table, column, old and new definition and what to do. */
export function refusalMessage(refusals: readonly ContractRefusal[]): string {
  return refusals.map((r) => `${r.table}.${r.column}: was ${r.was}, now ${r.now}: ${r.why}. What to do: ${r.advice}.`).join('\n');
}

/** The columns each existing table has (PRAGMA table_info), by table name. */
export type TableColumns = ReadonlyMap<string, readonly string[]>;

/**
 * The statements of an accepted diff, to run as one batch: `ALTER TABLE … ADD COLUMN` on each
 * history and stage table that exists and lacks the column (a table no load has created yet
 * gets it when it is created); for a widened decimal scale, its `<name>_units` multiplied by
 * 10^(new - old) in each table that exists; then the record of every changed table rewritten
 * from the code. Safe to run again after a failure part-way: an added column is not added
 * twice, and the units are multiplied in the same batch (one transaction) that records the new
 * scale, so a retry after a failed batch multiplies once and one after an applied batch finds
 * nothing to do. Pure.
 */
export function contractMigrationStatements(diff: ContractDiff, contracts: readonly TableContract[], existing: TableColumns): { sql: string; params?: (string | number | null)[] }[] {
  const statements: { sql: string; params?: (string | number | null)[] }[] = [];
  for (const change of diff.changes) {
    const contract = contracts.find((c) => c.table === change.table)!;
    if (change.kind === 'column-added') {
      const column = contract.columns.find((c) => c.name === change.column)!;
      for (const table of [contract.table, stageTable(contract)]) {
        const columns = existing.get(table);
        if (columns && !columns.includes(storedName(column))) statements.push({ sql: `ALTER TABLE ${q(table)} ADD COLUMN ${q(storedName(column))} ${sqlType(column.type)}` });
      }
    } else if (change.kind === 'column-widened' && change.rescale) {
      const units = q(unitsColumn(change.column));
      const factor = 10 ** (change.rescale.to - change.rescale.from);
      for (const table of [contract.table, stageTable(contract)]) {
        if (existing.get(table)?.includes(unitsColumn(change.column))) statements.push({ sql: `UPDATE ${q(table)} SET ${units} = ${units} * ${factor} WHERE ${units} IS NOT NULL` });
      }
    }
  }
  for (const table of new Set(diff.changes.map((c) => c.table))) {
    const contract = contracts.find((c) => c.table === table)!;
    statements.push({ sql: 'DELETE FROM etl_contract_columns WHERE table_name = ?', params: [table] });
    statements.push(...recordStatements(contract.table, contract.columns));
  }
  return statements;
}

/** The INSERTs that record a table's columns in etl_contract_columns. */
export function recordStatements(table: string, columns: readonly Pick<ColumnContract, 'name' | 'source' | 'type' | 'addedIn'>[]): { sql: string; params: (string | number | null)[] }[] {
  return columns.map((c, position) => ({
    sql: 'INSERT INTO etl_contract_columns (table_name, column_name, position, source_header, sql_type, type_json, added_in) VALUES (?, ?, ?, ?, ?, ?, ?)',
    params: [table, c.name, position, c.source, sqlType(c.type), JSON.stringify(c.type), c.addedIn ?? null],
  }));
}

/** The contract as etl_contract_columns records it, table by table in file order. */
export const recordedContractQuery = 'SELECT table_name, column_name, position, source_header, type_json, added_in FROM etl_contract_columns ORDER BY table_name, position';
