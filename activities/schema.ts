import { ApplicationFailure } from '@temporalio/common';
import { tableContracts } from '../contracts/index.ts';
import type { TableContract } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import { d1ErrorType } from '../d1/errors.ts';
import { diffContracts, recordedContractQuery } from '../history/contract-diff.ts';
import { stageTable, type ViewDefinition } from '../history/ddl.ts';
import { migrationsTableDdl, pendingMigrations, type Migration } from '../history/migrations.ts';
import { planViews, warehouseViews } from '../history/views.ts';
import { convertMoneyToUnits } from './money-migration.ts';
import { createHistoryTables, migrateContracts, migrateViews, recordedColumnsOf, type RecordedColumnRow } from './schema-sync.ts';

/** What applying migrations did, or (dry run) would do. */
export interface MigrationReport {
  /** Numbered migrations applied (none in a dry run). */
  applied: string[];
  /** Numbered migrations a dry run would apply. */
  pending: string[];
  /** History tables created (a contract's table no load had created yet). */
  tables: string[];
  /** Contract changes applied (or, in a dry run, to apply), described for the operator. */
  contract: string[];
  /** Views created and replaced (or to be). */
  views: { created: string[]; replaced: string[] };
}

/** What to migrate to; tests pass an edited contract or view list, production the code's. */
export interface MigrationOptions {
  dryRun?: boolean;
  contracts?: readonly TableContract[];
  views?: readonly ViewDefinition[];
  /** Rowids per fill statement of migration 0006 (default history/money-units.ts's); lower in tests. */
  moneyChunkRows?: number;
  /** Told each step as it starts, for a progress line (`warehouse migrate`). */
  onStep?: (step: string) => void;
}

/**
 * Brings the warehouse's schema up to this code, in four steps: the history tables no load
 * has created yet (so every view resolves); the pending numbered migrations in order, each as one batch that also records it in d1_migrations (0006
 * converts the stored amounts to units step by step first, activities/money-migration.ts); the
 * contract diff (new columns added, widened types and renamed headers recorded, destructive
 * changes refused before anything is written); and the views (a changed one replaced, a
 * missing one created). Refuses a database that has migrations this code does not know (it
 * was migrated by a newer release). Run by `warehouse migrate`, at worker start and before
 * each run and backfill; once up to date it costs one request (isUpToDate) and writes nothing.
 */
export async function applyMigrations(d1: Pick<D1Client, 'query' | 'batch' | 'first' | 'scalar'>, options: MigrationOptions = {}): Promise<MigrationReport> {
  const dryRun = options.dryRun ?? false;
  const contracts = options.contracts ?? tableContracts;
  const step = options.onStep ?? (() => undefined);
  step('reading the schema');
  if (await isUpToDate(d1, contracts, options.views ?? warehouseViews(contracts))) return { applied: [], pending: [], tables: [], contract: [], views: { created: [], replaced: [] } };
  await d1.query(migrationsTableDdl);
  const [rows] = await d1.query<{ name: string }>('SELECT name FROM d1_migrations ORDER BY id');
  const applied = (rows?.results ?? []).map((r) => r.name);
  const { pending, unknown } = pendingMigrations(applied);
  if (unknown.length > 0) {
    throw ApplicationFailure.create({
      type: 'SchemaNewerThanCode',
      message: `the warehouse has migrations this release does not know (${unknown.join(', ')}): it was migrated by a newer release; deploy that release`,
      nonRetryable: true,
    });
  }
  step('history tables');
  const tables = await createHistoryTables(d1, contracts, { dryRun });
  if (!dryRun) {
    for (const [i, migration] of pending.entries()) {
      step(`migration ${migration.name} (${i + 1}/${pending.length})`);
      await checkGuards(d1, migration);
      if (migration.data === 'money-units') {
        await convertMoneyToUnits(d1, { views: options.views ?? warehouseViews(contracts), chunkRows: options.moneyChunkRows, onStep: (s) => step(`migration ${migration.name} (${i + 1}/${pending.length}): ${s}`) });
      }
      try {
        await d1.batch([...migration.statements.map((sql) => ({ sql })), { sql: 'INSERT INTO d1_migrations (name) VALUES (?)', params: [migration.name] }]);
      } catch (error) {
        // Another process (a second worker, a concurrent run) may have applied it meanwhile: that is success.
        if (!(await d1.scalar<number>('SELECT count(*) AS n FROM d1_migrations WHERE name = ?', [migration.name]))) throw error;
      }
    }
  }
  const recordExists = dryRun ? applied.includes('0003_contract_record') : true;
  step('contract changes');
  const contract = await migrateContracts(d1, contracts, { dryRun, recordExists });
  step('views');
  const views = await migrateViews(d1, options.views ?? warehouseViews(contracts), { dryRun });
  return dryRun ? { applied: [], pending: pending.map((m) => m.name), tables, contract, views } : { applied: pending.map((m) => m.name), pending: [], tables, contract, views };
}

/**
 * Runs a migration's guards: the first row one finds refuses the migration (MigrationRefused,
 * naming the table, the row's key and its value) before any of its statements is sent.
 */
async function checkGuards(d1: Pick<D1Client, 'first'>, migration: Migration): Promise<void> {
  for (const guard of migration.guards ?? []) {
    const row = await d1.first<{ key: unknown; value: unknown }>(guard.sql);
    if (!row) continue;
    const value = row.value === null ? 'NULL' : `'${String(row.value)}'`;
    throw ApplicationFailure.create({
      type: 'MigrationRefused',
      message: `migration ${migration.name} refused: ${guard.table} row ${String(row.key)} has ${value}, where ${guard.rule}; correct the row (nothing was changed) and run \`warehouse migrate\` again`,
      nonRetryable: true,
      details: [{ migration: migration.name, table: guard.table, key: row.key, value: row.value, rule: guard.rule }],
    });
  }
}

/**
 * True when the warehouse is at this code's schema, read in one request: every numbered
 * migration applied and none unknown, every history and stage table there, the recorded
 * contract equal to the code's, every view the code's. The same pure plans as the steps
 * decide it; anything to do, or a read D1 refuses (no contract record before 0003), is false,
 * and the steps run as ever.
 */
async function isUpToDate(d1: Pick<D1Client, 'batch'>, contracts: readonly TableContract[], views: readonly ViewDefinition[]): Promise<boolean> {
  let answers;
  try {
    answers = await d1.batch<Record<string, unknown>>([
      { sql: migrationsTableDdl },
      { sql: 'SELECT name FROM d1_migrations ORDER BY id' },
      { sql: "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view')" },
      { sql: recordedContractQuery },
    ]);
  } catch (error) {
    if (d1ErrorType(error) === 'D1SqlError') return false;
    throw error;
  }
  const [, applied, objects, recorded] = answers.map((a) => a.results);
  const { pending, unknown } = pendingMigrations((applied ?? []).map((r) => String(r.name)));
  if (pending.length > 0 || unknown.length > 0) return false;
  const held = objects ?? [];
  const tables = new Set(held.filter((o) => o.type === 'table').map((o) => String(o.name)));
  if (contracts.some((c) => !tables.has(c.table) || !tables.has(stageTable(c)))) return false;
  const diff = diffContracts(recordedColumnsOf((recorded ?? []) as unknown as RecordedColumnRow[]), contracts);
  if (diff.refusals.length > 0 || diff.changes.length > 0) return false;
  const existingViews = held.filter((o) => o.type === 'view').map((o) => ({ name: String(o.name), sql: String(o.sql) }));
  return planViews(views, existingViews).statements.length === 0;
}
