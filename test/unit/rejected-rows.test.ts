import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { rejectedRowsOf } from '../../activities/rejected-rows-writer.ts';
import { csvRecord } from '../../client/rejects.ts';
import { escapeControls, readableText } from '../../common/readable-text.ts';
import { D1_MAX_STATEMENT_BYTES } from '../../d1/limits.ts';
import { utf8ByteLength } from '../../d1/pack.ts';
import { incidentLoadQuery, insertRejectedRowsBatches, recordRejectedCountStatement, rejectedRowsPageQuery, type RejectedRow } from '../../history/control/rejected-rows.ts';

describe('readable text for a stored value or raw line', () => {
  it('writes each control character as \\xNN, upper-case, and leaves the rest alone', () => {
    expect(escapeControls('a\rb\nc\u0000d\te\u007ff\u0085g')).toBe('a\\x0Db\\x0Ac\\x00d\\x09e\\x7Ff\\x85g');
    expect(escapeControls('Émile ; « 12,50 € »')).toBe('Émile ; « 12,50 € »');
  });

  it('cuts at the limit with a marker giving the length, never inside an escape or a surrogate pair', () => {
    expect(readableText('X'.repeat(2000))).toBe('X'.repeat(2000));
    const cut = readableText('X'.repeat(1_000_000));
    expect(cut).toBe(`${'X'.repeat(2000)} …[cut: 1000000 characters in all]`);
    expect(readableText('abcd\u0001', 6)).toBe('abcd …[cut: 8 characters in all]');
    expect(readableText('abc😀', 4)).toBe('abc …[cut: 5 characters in all]');
  });
});

describe('a rejected line as stored rows', () => {
  it('one row per problem, numbered in order, the raw line on the first only, everything escaped and cut', () => {
    const huge = `A${'\r'.repeat(3000)}`;
    const rows = rejectedRowsOf({
      line: 7,
      raw: `R1;CL1;${huge};31/02/2026`,
      issues: [
        { line: 7, column: 'DATE_REGLEMENT', value: '31/02/2026', rule: 'no such calendar date' },
        { line: 7, column: 'MONTANT', value: huge, rule: 'not a number' },
      ],
    });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({
      line: 7, issue: 1, column: 'DATE_REGLEMENT', value: '31/02/2026', rule: 'no such calendar date',
      message: 'line 7, column DATE_REGLEMENT: no such calendar date (value "31/02/2026")',
      rawLine: expect.stringMatching(/^R1;CL1;A(\\x0D)+ …\[cut: 12019 characters in all\]$/),
    });
    expect(rows[1]).toMatchObject({ line: 7, issue: 2, column: 'MONTANT', rule: 'not a number', rawLine: null });
    expect(rows[1]!.value).toMatch(/^A(\\x0D)+ …\[cut: 12001 characters in all\]$/);
    expect(rows[1]!.value!.length).toBeLessThan(2100);
    expect(rows[1]!.message.length).toBeLessThan(300);
    expect(rejectedRowsOf({ line: 3, raw: 'R2;CL2', issues: [{ line: 3, rule: 'expected 6 fields, found 2' }] })).toEqual([
      { line: 3, issue: 1, column: null, value: null, rule: 'expected 6 fields, found 2', message: 'line 3: expected 6 fields, found 2', rawLine: 'R2;CL2' },
    ]);
  });
});

describe('etl_rejected_rows builders', () => {
  const row = (line: number, text: string): RejectedRow => ({ line, issue: 1, column: 'MONTANT', value: text, rule: "it's wrong", message: `line ${line}: it's wrong`, rawLine: text });

  it('packs thousands of rows into statements within D1 limits, each safe to resend', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => row(i + 2, 'V'.repeat(1500)));
    const batches = insertRejectedRowsBatches('load-1', rows);
    const statements = batches.flat();
    expect(statements.every((s) => utf8ByteLength(s.sql) <= D1_MAX_STATEMENT_BYTES && s.params.length === 0)).toBe(true);
    expect(statements.every((s) => s.sql.startsWith('INSERT INTO "etl_rejected_rows" ("load_id", "line", "issue", "column_name", "value", "rule", "message", "raw_line") VALUES'))).toBe(true);
    expect(statements.every((s) => s.sql.endsWith('ON CONFLICT ("load_id", "line", "issue") DO NOTHING'))).toBe(true);
    expect(statements.map((s) => s.sql.match(/\('load-1',/g)!.length).reduce((a, b) => a + b)).toBe(3000);
    expect(batches.length).toBeGreaterThan(1); // about 9 MB of SQL: several requests
    expect(statements[0]!.sql).toContain("'it''s wrong'");
  });

  it('counts, pages and finds the load with bound parameters only', () => {
    expect(recordRejectedCountStatement({ loadId: 'l', rowsRejected: 5000, cap: 100 })).toEqual({ sql: 'UPDATE etl_loads SET rows_rejected = ?, rejected_rows_cap = ? WHERE load_id = ?', params: [5000, 100, 'l'] });
    const page = rejectedRowsPageQuery({ loadId: 'l', after: { line: 12, issue: 2 }, limit: 1000 });
    expect(page.sql).toMatch(/WHERE load_id = \? AND \(line, issue\) > \(\?, \?\) ORDER BY line, issue LIMIT \?$/);
    expect(page.params).toEqual(['l', 12, 2, 1000]);
    const incident = incidentLoadQuery('incident-customers-2028-03-02');
    expect(incident.params).toEqual(['incident-customers-2028-03-02']);
    expect(incident.sql).toContain("x.status IN ('failed', 'reverted', 'quarantined')");
  });
});

describe('RFC 4180 records', () => {
  it('quotes what must be quoted, doubles quotes, ends with CRLF, and parses back to the same fields', () => {
    const fields = [12, 'MONTANT', 'a,b', 'say "no"', null, 'R1;"CL;1";F1'];
    const record = csvRecord(fields);
    expect(record).toBe('12,MONTANT,"a,b","say ""no""",,"R1;""CL;1"";F1"\r\n');
    expect(parse(record)).toEqual([['12', 'MONTANT', 'a,b', 'say "no"', '', 'R1;"CL;1";F1']]);
  });
});
