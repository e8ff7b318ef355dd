import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/**
 * Where SQL on the control tables may be written: the store's builders, and the schema itself
 * (migrations, the control schema and views they create, and the migrations generated from a
 * contract diff, which record etl_contract_columns).
 */
const owners = [
  /^history\/control\//, // the control store's builders (activities/control-store.ts runs them)
  /^history\/migrations\.ts$/, // numbered migrations
  /^history\/control-schema\.ts$/, // migration 0001 and the operator views
  /^history\/incident-tables\.ts$/, // migration 0004 and the SQL test for the tables an incident holds
  /^history\/typed-control\.ts$/, // migration 0005
  /^history\/money-units\.ts$/, // migration 0006 (records each converted column in etl_contract_columns)
  /^history\/contract-diff\.ts$/, // contract changes as migrations (etl_contract_columns)
  /^history\/views\.ts$/, // view definitions migrate recreates
];

/** The source folders (tests, fixtures and dependencies are not the product). */
const sourceDirs = ['activities', 'bench', 'client', 'common', 'contracts', 'd1', 'generator', 'history', 'scripts', 'worker', 'workflows'];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The file without its comments, so a comment naming a table is not SQL. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** SQL that reads or writes a control table: a statement keyword followed by an etl_ name. */
const controlSql = /\b(FROM|INTO|UPDATE|JOIN|TABLE|EXISTS|DELETE FROM)\s+etl_\w+/gi;

/** Control-table SQL written outside its owners, as `file: match`. */
export function strayControlSql(files: readonly string[]): string[] {
  return files
    .filter((f) => !owners.some((o) => o.test(f)))
    .flatMap((f) => [...withoutComments(readFileSync(join(root, f), 'utf8')).matchAll(controlSql)].map((m) => `${f}: ${m[0]}`));
}

describe('one owner for the control tables', () => {
  it('no etl_ SQL outside the control store and the migrations', () => {
    const files = sourceDirs.flatMap((d) => sourceFiles(d)).map((f) => relative(root, join(root, f)));
    expect(files.length).toBeGreaterThan(100);
    expect(strayControlSql(files)).toEqual([]);
  });

  it('the scan finds control SQL in a file that is not an owner (so it can fail)', () => {
    const sample = "UPDATE etl_loads SET status = 'staged'"; // what a stray statement looks like
    expect(strayControlSql(['test/unit/control-sql-owner.test.ts'])).toContain(`test/unit/control-sql-owner.test.ts: ${sample.slice(0, 16)}`);
    expect(strayControlSql(['history/control/loads.ts'])).toEqual([]);
  });
});
