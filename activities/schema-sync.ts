import { ApplicationFailure } from '@temporalio/common';
import type { TableContract } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import { quoteIdentifier as q } from '../d1/pack.ts';
import { contractBaseline } from '../history/contract-baseline.ts';
import { contractMigrationStatements, diffContracts, recordedContractQuery, refusalMessage, type ContractChange, type RecordedColumn } from '../history/contract-diff.ts';
import type { ViewDefinition } from '../history/ddl.ts';
import { historyDdl, stageTable } from '../history/ddl.ts';
import { planViews, type ExistingView, type ViewPlan } from '../history/views.ts';

/**
 * The two steps of `warehouse migrate` after the numbered migrations: the contract diff
 * (history/contract-diff.ts) and the views (history/views.ts). Each reads what the database
 * holds, plans with a pure function and applies the plan as one batch; each is safe to run
 * again after a failure part-way, and a second process that applied the same plan meanwhile
 * is success.
 */

type SchemaD1 = Pick<D1Client, 'query' | 'batch'>;

/** A contract change as `warehouse migrate` prints it. */
export function describeChange(change: ContractChange): string {
  switch (change.kind) {
    case 'table-recorded':
      return `${change.table}: contract recorded`;
    case 'column-added':
      return `${change.table}.${change.column}: column added (${change.definition}); rows loaded before hold NULL`;
    case 'column-widened':
      return change.rescale
        ? `${change.table}.${change.column}: widened from ${change.from} to ${change.to}; ${change.column}_units multiplied by ${10 ** (change.rescale.to - change.rescale.from)} (same amounts, same row hashes)`
        : `${change.table}.${change.column}: widened from ${change.from} to ${change.to} (recorded, no data change)`;
    case 'header-renamed':
      return `${change.table}.${change.column}: Sodiwin header "${change.from}" is now "${change.to}" (recorded, no data change)`;
    case 'column-moved':
      return `${change.table}.${change.column}: now at position ${change.to + 1} of the file (was ${change.from + 1})`;
  }
}

/** The contract as recorded; before 0003 ran (a dry run), what 0003 would record. */
async function recordedContract(d1: SchemaD1, recordExists: boolean): Promise<RecordedColumn[]> {
  if (!recordExists) {
    return contractBaseline.map(([table, column, source, type]) => ({
      table, column, source, type, addedIn: null, position: contractBaseline.filter((c) => c[0] === table).findIndex((c) => c[1] === column),
    }));
  }
  const [rows] = await d1.query<RecordedColumnRow>(recordedContractQuery);
  return recordedColumnsOf(rows?.results ?? []);
}

/** A row of `recordedContractQuery`. */
export interface RecordedColumnRow {
  table_name: string;
  column_name: string;
  position: number;
  source_header: string;
  type_json: string;
  added_in: string | null;
}

/** The recorded contract from the rows of `recordedContractQuery`. Pure. */
export function recordedColumnsOf(rows: readonly RecordedColumnRow[]): RecordedColumn[] {
  return rows.map((r) => ({ table: r.table_name, column: r.column_name, position: r.position, source: r.source_header, type: JSON.parse(r.type_json), addedIn: r.added_in }));
}

/** The columns of each existing history or stage table that gains a column or whose decimal scale widens. */
async function existingColumns(d1: SchemaD1, contracts: readonly TableContract[], tables: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const contract of contracts.filter((c) => tables.includes(c.table))) {
    for (const table of [contract.table, stageTable(contract)]) {
      const [info] = await d1.query<{ name: string }>(`PRAGMA table_info(${q(table)})`);
      const columns = (info?.results ?? []).map((r) => r.name);
      if (columns.length > 0) out.set(table, columns);
    }
  }
  return out;
}

/**
 * Brings the recorded contract and the history and stage tables to the code's contracts, or
 * refuses (ContractChangeRefused, naming each table, column, old and new definition and what
 * to do) before changing anything. Returns the changes, described.
 */
export async function migrateContracts(d1: SchemaD1, contracts: readonly TableContract[], options: { dryRun: boolean; recordExists: boolean }): Promise<string[]> {
  const plan = async () => {
    const diff = diffContracts(await recordedContract(d1, options.recordExists), contracts);
    if (diff.refusals.length > 0) {
      throw ApplicationFailure.create({
        type: 'ContractChangeRefused',
        message: `warehouse migrate refuses ${diff.refusals.length} contract change(s) that would lose or reinterpret history; nothing was changed:\n${refusalMessage(diff.refusals)}`,
        nonRetryable: true,
        details: [{ refusals: diff.refusals }],
      });
    }
    const gaining = diff.changes.filter((c) => c.kind === 'column-added' || (c.kind === 'column-widened' && c.rescale)).map((c) => c.table);
    return { diff, statements: contractMigrationStatements(diff, contracts, await existingColumns(d1, contracts, gaining)) };
  };
  const { diff, statements } = await plan();
  if (options.dryRun || statements.length === 0) return diff.changes.map(describeChange);
  try {
    await d1.batch(statements);
  } catch (error) {
    // Another process may have applied the same change meanwhile: success if nothing is left to do.
    if ((await plan()).statements.length > 0) throw error;
  }
  return diff.changes.map(describeChange);
}

/** Creates the views the database lacks and replaces those whose SQL changed. Returns what it did (or would do). */
export async function migrateViews(d1: SchemaD1, views: readonly ViewDefinition[], options: { dryRun: boolean }): Promise<Pick<ViewPlan, 'created' | 'replaced'>> {
  const plan = async () => {
    const [rows] = await d1.query<ExistingView>("SELECT name, sql FROM sqlite_master WHERE type = 'view'");
    return planViews(views, rows?.results ?? []);
  };
  const first = await plan();
  if (!options.dryRun && first.statements.length > 0) {
    try {
      await d1.batch(first.statements.map((sql) => ({ sql })));
    } catch (error) {
      if ((await plan()).statements.length > 0) throw error;
    }
  }
  return { created: first.created, replaced: first.replaced };
}

/**
 * Creates the history and stage tables (and `<t>_current`) of every contract that lacks them,
 * from the code's contract: once migrated, every table a view or a migration names exists
 * (SQLite checks every view when a migration renames or drops a table). Returns the tables
 * created (or, in a dry run, to create).
 */
export async function createHistoryTables(d1: SchemaD1, contracts: readonly TableContract[], options: { dryRun: boolean }): Promise<string[]> {
  const [rows] = await d1.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'");
  const held = new Set((rows?.results ?? []).map((r) => r.name));
  const missing = contracts.filter((c) => !held.has(c.table) || !held.has(stageTable(c)));
  if (!options.dryRun && missing.length > 0) await d1.batch(missing.flatMap(historyDdl).map((sql) => ({ sql })));
  return missing.map((c) => c.table);
}
