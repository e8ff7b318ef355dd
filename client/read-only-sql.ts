import { splitSqlStatements } from '../d1/sql-split.ts';

const writingKeywords = /\b(INSERT|UPDATE|DELETE|REPLACE|UPSERT|CREATE|DROP|ALTER|ATTACH|DETACH|VACUUM|REINDEX|PRAGMA|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|ANALYZE)\b/i;

/**
 * Why `sql` is not a single read-only query, or undefined when it is. The REST API
 * cannot open a read-only connection, so `warehouse query` refuses anything that
 * is not one SELECT / WITH … SELECT / VALUES / EXPLAIN, outside of strings and comments.
 */
export function readOnlyViolation(sql: string): string | undefined {
  const statements = splitSqlStatements(sql);
  if (statements.length === 0) return 'no SQL statement given';
  if (statements.length > 1) return `one statement at a time (found ${statements.length})`;
  const code = stripStringsAndComments(statements[0]!);
  if (!/^\s*(SELECT|WITH|VALUES|EXPLAIN)\b/i.test(code)) return 'only SELECT, WITH … SELECT, VALUES and EXPLAIN are allowed';
  const writing = writingKeywords.exec(code);
  if (writing) return `${writing[1]!.toUpperCase()} is not allowed: warehouse query is read-only`;
  return undefined;
}

function stripStringsAndComments(sql: string): string {
  return sql
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"/g, '""')
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ');
}
