import { ApplicationFailure } from '@temporalio/common';
import type { D1Client } from '../d1/client.ts';
import { migrationsTableDdl, pendingMigrations } from '../history/migrations.ts';

/** What applying migrations did, or (dry run) would do. */
export interface MigrationReport {
  applied: string[];
  pending: string[];
}

/**
 * Brings the warehouse's schema up to this code: applies the pending numbered migrations
 * in order, each as one batch that also records it in d1_migrations. Refuses a database
 * that has migrations this code does not know (it was migrated by a newer release).
 * Run by `warehouse migrate`, at worker start and before each run and backfill.
 */
export async function applyMigrations(d1: Pick<D1Client, 'query' | 'batch'>, options: { dryRun?: boolean } = {}): Promise<MigrationReport> {
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
  if (options.dryRun) return { applied: [], pending: pending.map((m) => m.name) };
  for (const migration of pending) {
    try {
      await d1.batch([...migration.statements.map((sql) => ({ sql })), { sql: 'INSERT INTO d1_migrations (name) VALUES (?)', params: [migration.name] }]);
    } catch (error) {
      // Another process (a second worker, a concurrent run) may have applied it meanwhile: that is success.
      const [again] = await d1.query<{ n: number }>('SELECT count(*) AS n FROM d1_migrations WHERE name = ?', [migration.name]);
      if (!again?.results[0]?.n) throw error;
    }
  }
  return { applied: pending.map((m) => m.name), pending: [] };
}
