/**
 * Splits a SQL text into statements the way D1's REST `query` does before running
 * them as a batch: on `;` outside string literals, quoted identifiers and comments.
 * A `CREATE TRIGGER` body keeps its inner `;` until its closing `END;`.
 */
export function splitSqlStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;

  const isTriggerStatement = (text: string): boolean =>
    /^\s*CREATE\s+(TEMP\s+|TEMPORARY\s+)?TRIGGER\b/i.test(stripLeadingComments(text));

  while (i < n) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === "'" || ch === '"' || ch === '`') {
      i = skipQuoted(sql, i, ch);
    } else if (ch === '[') {
      const close = sql.indexOf(']', i + 1);
      i = close === -1 ? n : close + 1;
    } else if (ch === '-' && next === '-') {
      const eol = sql.indexOf('\n', i + 2);
      i = eol === -1 ? n : eol + 1;
    } else if (ch === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close === -1 ? n : close + 2;
    } else if (ch === ';') {
      const candidate = sql.slice(start, i);
      if (isTriggerStatement(candidate) && !/\bEND\s*$/i.test(candidate)) {
        i += 1;
        continue;
      }
      pushIfNotEmpty(statements, candidate);
      i += 1;
      start = i;
    } else {
      i += 1;
    }
  }
  pushIfNotEmpty(statements, sql.slice(start));
  return statements;
}

function skipQuoted(sql: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) {
        i += 2; // doubled quote is an escaped quote
        continue;
      }
      return i + 1;
    }
    i += 1;
  }
  return sql.length;
}

/** `text` without its leading whitespace and comments (line or block), to read a statement's first keyword. */
export function stripLeadingComments(text: string): string {
  let rest = text.trimStart();
  for (;;) {
    if (rest.startsWith('--')) {
      const eol = rest.indexOf('\n');
      rest = eol === -1 ? '' : rest.slice(eol + 1).trimStart();
    } else if (rest.startsWith('/*')) {
      const close = rest.indexOf('*/');
      rest = close === -1 ? '' : rest.slice(close + 2).trimStart();
    } else {
      return rest;
    }
  }
}

function pushIfNotEmpty(statements: string[], text: string): void {
  if (stripLeadingComments(text).trim() !== '') statements.push(text.trim());
}
