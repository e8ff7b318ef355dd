import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { ApplicationFailure } from '@temporalio/common';
import { symlink } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanExport, type RejectedLine } from '../../activities/export-reader.ts';
import { capText, etlFailure, failureLimits, fullDetailOf } from '../../common/errors.ts';
import { text } from '../../contracts/columns.ts';
import { contractFor } from '../../contracts/index.ts';
import { sodiwinDialect, type TableContract } from '../../contracts/types.ts';

const contract = contractFor('payments');
const header = 'ID_REGLEMENT;CODE_CLIENT;NUM_FACTURE;DATE_REGLEMENT;MONTANT;MODE_REGLEMENT';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'export-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function scan(content: Buffer | string, rows: unknown[] = []) {
  const path = join(dir, `REGLEMENTS_${Math.random().toString(36).slice(2)}.csv`);
  await writeFile(path, typeof content === 'string' ? iconv.encode(content, 'win1252') : content);
  return scanExport({ path, contract, dialect: sodiwinDialect, businessDate: '2026-03-02', onRow: (row, line) => void rows.push({ line, ...row }) });
}

/** The stable type and message of the failure a scan throws. */
async function failure(content: Buffer | string): Promise<{ type: string | undefined; message: string }> {
  const error = await scan(content).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return { type: (error as ApplicationFailure).type ?? undefined, message: (error as ApplicationFailure).message };
}

describe('scanExport on Windows-1252 files', () => {
  it('streams valid rows with line numbers, quoted fields with ; and "" inside, and exact control totals', async () => {
    const rows: unknown[] = [];
    const scan1 = await scan(`${header}\r\nR1;"CL;01";F1;02/03/2026;1234,50;VIREMENT\r\nR2;"CL ""é""";;03/03/2026;0,25;CB\r\n`, rows);
    expect(scan1).toEqual({ rowsRead: 2, rowsValid: 2, rowsRejected: 0, issues: [], controlTotals: { amount: '1234.75' } });
    // A decimal as its units at the column's scale: 1234,50 is 123450 cents.
    expect(rows).toEqual([
      { line: 2, payment_id: 'R1', customer_code: 'CL;01', invoice_no: 'F1', payment_date: '2026-03-02', amount: 123450, method: 'VIREMENT' },
      { line: 3, payment_id: 'R2', customer_code: 'CL "é"', invoice_no: null, payment_date: '2026-03-03', amount: 25, method: 'CB' },
    ]);
  });

  it('counts rejected rows and lists each problem with line, column, value and rule', async () => {
    const result = await scan(`${header}\r\nR1;CL1;F1;31/02/2026;12.50;VIREMENT\r\nR2;CL2;F2;02/03/2026;1,00;TROC\r\nR3;CL3;F3;02/03/2026;1,00\r\n`);
    expect(result.rowsRead).toBe(3);
    expect(result.rowsRejected).toBe(3);
    expect(result.issues).toEqual([
      { line: 2, column: 'DATE_REGLEMENT', value: '31/02/2026', rule: 'no such calendar date' },
      { line: 2, column: 'MONTANT', value: '12.50', rule: 'decimal comma expected, found a point' },
      { line: 3, column: 'MODE_REGLEMENT', value: 'TROC', rule: 'not one of VIREMENT, CHEQUE, LCR, CB, ESPECES' },
      { line: 4, rule: 'expected 6 fields, found 5' },
    ]);
  });

  it('refuses a header that does not match the contract, naming what is missing', async () => {
    const { type, message } = await failure(`ID_REGLEMENT;CODE_CLIENT;NUM_FACTURE;DATE;MONTANT;MODE_REGLEMENT\r\n`);
    expect(type).toBe('CsvHeaderMismatch');
    expect(message).toMatch(/^payments 2026-03-02 \[REGLEMENTS_\w+\.csv, line 1\]: header does not match the payments contract: missing DATE_REGLEMENT; unexpected DATE/);
  });

  it('refuses a UTF-8 file where Windows-1252 is declared, and a UTF-8 byte-order mark', async () => {
    expect((await failure(Buffer.from(`${header}\r\nR1;Société;F1;02/03/2026;1,00;CB\r\n`, 'utf8'))).type).toBe('EncodingMismatch');
    expect((await failure(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), iconv.encode(`${header}\r\n`, 'win1252')]))).type).toBe('EncodingMismatch');
  });

  it('refuses mojibake, an empty file, and an unbalanced quote', async () => {
    const mojibake = await failure(`${header}\r\nR1;Société;F1;02/03/2026;1,00;CB\r\nR2;SociÃ©tÃ©;F2;02/03/2026;1,00;CB\r\n`);
    expect(mojibake).toEqual({ type: 'Mojibake', message: expect.stringMatching(/line 3, column CODE_CLIENT\]: text looks double-encoded .*\(value "SociÃ©tÃ©"\)/) });
    expect((await failure('')).type).toBe('EmptyExport');
    const unbalanced = await failure(`${header}\r\nR1;"CL1;F1;02/03/2026;1,00;CB\r\n`);
    expect(unbalanced.type).toBe('CsvMalformed');
  });

  it('stops at a record larger than the limit, naming the line and the limit, with the header checked first', async () => {
    const big = `${header}\r\nR1;CL1;F1;02/03/2026;1,00;CB\r\nR2;${'x'.repeat(5000)};F2;02/03/2026;1,00;CB\r\n`;
    const path = join(dir, 'REGLEMENTS_big.csv');
    await writeFile(path, iconv.encode(big, 'win1252'));
    const error = await scanExport({ path, contract, dialect: sodiwinDialect, businessDate: '2026-03-02', maxRecordBytes: 1000 }).then(() => undefined, (e: unknown) => e as ApplicationFailure);
    expect(error?.type).toBe('RecordTooLarge');
    expect(error?.nonRetryable).toBe(true);
    expect(error?.message).toMatch(/^payments 2026-03-02 \[REGLEMENTS_big\.csv, line 3\]: the record that starts on line 3 is larger than 1000 bytes/);
  });

  it('refuses a header line over the header limit before parsing it', async () => {
    const { type, message } = await failure(`${'COLONNE;'.repeat(10_000)}\r\nR1\r\n`);
    expect(type).toBe('RecordTooLarge');
    expect(message).toMatch(/line 1\]: the header line is 80002 bytes, more than the 65536 bytes a header may have/);
    const endless = await failure('A'.repeat(200_000));
    expect(endless.message).toMatch(/the header line is more than 65536 bytes/);
  });

  it('reads no symbolic link, even in the archive', async () => {
    const target = join(dir, 'REGLEMENTS_target.csv');
    await writeFile(target, iconv.encode(`${header}\r\nR1;CL1;F1;02/03/2026;1,00;CB\r\n`, 'win1252'));
    const link = join(dir, 'REGLEMENTS_link.csv');
    await symlink(target, link);
    const error = await scanExport({ path: link, contract, dialect: sodiwinDialect, businessDate: '2026-03-02' }).then(() => undefined, (e: unknown) => e as ApplicationFailure);
    expect(error?.type).toBe('NotARegularFile');
    expect(error?.message).toContain(`${link} is a symbolic link to ${target} (not followed)`);
  });
});

describe('scanExport on archived files older than the contract (a rewind or a rebuild replays them)', () => {
  // The payments contract two releases later: Sodiwin renamed MONTANT to MONTANT_TTC, and REFERENCE joined on 2026-04-01 (required from then).
  const later: TableContract = {
    ...contract,
    columns: [
      ...contract.columns.map((c) => (c.source === 'MONTANT' ? { ...c, source: 'MONTANT_TTC', previousSources: ['MONTANT'] } : c)),
      text('REFERENCE', 'reference', 20, 'Bank reference', { addedIn: '2026-04-01' }),
    ],
  };
  const laterHeader = 'ID_REGLEMENT;CODE_CLIENT;NUM_FACTURE;DATE_REGLEMENT;MONTANT_TTC;MODE_REGLEMENT;REFERENCE';
  const body = 'R1;CL1;F1;02/03/2026;1234,50;VIREMENT\r\nR2;CL2;;03/03/2026;0,25;CB\r\n';

  async function scanAs(contractUsed: TableContract, businessDate: string, content: string, rows: unknown[] = []) {
    const path = join(dir, `REGLEMENTS_${Math.random().toString(36).slice(2)}.csv`);
    await writeFile(path, iconv.encode(content, 'win1252'));
    return scanExport({ path, contract: contractUsed, dialect: sodiwinDialect, businessDate, onRow: (row, line) => void rows.push({ line, ...row }) });
  }
  const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (e: ApplicationFailure) => ({ type: e.type, message: e.message }));

  it('reads a file with the earlier header and without the later column as the same rows, the new column NULL', async () => {
    const then: unknown[] = [];
    const now: unknown[] = [];
    const thenScan = await scanAs(contract, '2026-03-02', `${header}\r\n${body}`, then);
    const nowScan = await scanAs(later, '2026-03-02', `${header}\r\n${body}`, now);
    expect(nowScan).toEqual(thenScan);
    expect(nowScan).toMatchObject({ rowsValid: 2, rowsRejected: 0, controlTotals: { amount: '1234.75' } });
    expect(now).toEqual(then.map((row) => ({ ...(row as object), reference: null })));
  });

  it("reads today's header, and an archive from before the column that already carries it, with their values", async () => {
    const rows: unknown[] = [];
    await scanAs(later, '2026-04-02', `${laterHeader}\r\nR3;CL3;F3;02/04/2026;10,00;CB;VIR-77\r\n`, rows);
    await scanAs(later, '2026-03-30', `ID_REGLEMENT;CODE_CLIENT;NUM_FACTURE;DATE_REGLEMENT;MONTANT;MODE_REGLEMENT;REFERENCE\r\nR4;CL4;F4;30/03/2026;5,00;CB;VIR-78\r\n`, rows);
    expect(rows).toEqual([
      { line: 2, payment_id: 'R3', customer_code: 'CL3', invoice_no: 'F3', payment_date: '2026-04-02', amount: 1000, method: 'CB', reference: 'VIR-77' },
      { line: 2, payment_id: 'R4', customer_code: 'CL4', invoice_no: 'F4', payment_date: '2026-03-30', amount: 500, method: 'CB', reference: 'VIR-78' },
    ]);
  });

  it('refuses a file from the day the column joined on that lacks it: Sodiwin dropped it, and the warehouse must hear of it', async () => {
    expect(await refusal(scanAs(later, '2026-04-01', `${header}\r\n${body}`))).toEqual({
      type: 'CsvHeaderMismatch',
      message: expect.stringContaining(`header does not match the payments contract: missing REFERENCE (expected ${laterHeader})`),
    });
    // An addedIn that is not a date says nothing about which files predate the column: no leniency.
    const byRelease = { ...later, columns: later.columns.map((c) => (c.addedIn ? { ...c, addedIn: 'release-7' } : c)) };
    expect((await refusal(scanAs(byRelease, '2026-03-02', `${header}\r\n${body}`)))?.message).toContain('contract: missing REFERENCE (expected');
    // The same archive is still refused by a contract that does not know the old header (no previousSources).
    const forgotten = { ...later, columns: later.columns.map(({ previousSources: _, ...c }) => c) };
    expect((await refusal(scanAs(forgotten, '2026-03-02', `${header}\r\n${body}`)))?.message).toContain('missing MONTANT_TTC; unexpected MONTANT');
  });

  it('refuses a header naming one column twice (old and new name) or out of order', async () => {
    const twice = 'ID_REGLEMENT;CODE_CLIENT;NUM_FACTURE;DATE_REGLEMENT;MONTANT;MONTANT_TTC;MODE_REGLEMENT';
    expect((await refusal(scanAs(later, '2026-03-02', `${twice}\r\n`)))?.message).toContain('contract: repeated MONTANT_TTC (expected');
    const swapped = 'ID_REGLEMENT;CODE_CLIENT;NUM_FACTURE;MONTANT;DATE_REGLEMENT;MODE_REGLEMENT';
    expect((await refusal(scanAs(later, '2026-03-02', `${swapped}\r\n`)))?.message).toContain('contract: columns in the wrong order (expected');
  });
});

describe('failures stay small enough for the history', () => {
  it('caps the message, each value (with an ellipsis and its length) and the list of issues; the full detail stays readable', () => {
    const value = 'v'.repeat(1_000_000);
    const issues = Array.from({ length: 100 }, (_, i) => ({ line: i + 2, column: 'MONTANT', value, rule: 'not a number' }));
    const failure = etlFailure('RowValidationFailed', `bad ${'p'.repeat(10_000)}`, { table: 'payments', businessDate: '2026-03-02', file: 'F.csv', line: 2, value, issues });
    expect(failure.message.length).toBeLessThanOrEqual(failureLimits.messageChars + 30);
    expect(JSON.stringify(failure.details).length).toBeLessThanOrEqual(failureLimits.detailsChars + 100);
    const details = failure.details?.[0] as { value: string; issues: { value: string }[]; issuesOmitted: number };
    expect(details.value).toBe(`${'v'.repeat(200)}… (1000000 chars)`);
    expect(details.issues[0]?.value).toBe(details.value);
    expect(details.issues.length + details.issuesOmitted).toBe(100);
    expect(fullDetailOf(failure)?.details.issues).toHaveLength(100);
    expect(fullDetailOf(failure)?.details.value).toBe(value);
    expect(capText('short')).toBe('short');
    const ordinary = etlFailure('CountMismatch', 'the rows do not add up', { table: 'payments', businessDate: '2026-03-02', value: '3' });
    expect(ordinary.message).toBe('payments 2026-03-02: the rows do not add up (value "3")');
    expect(fullDetailOf(ordinary)).toBeUndefined();
  });
});

describe('scanExport streaming every rejected line', () => {
  async function streamed(content: string, maxIssues?: number) {
    const path = join(dir, `REGLEMENTS_${Math.random().toString(36).slice(2)}.csv`);
    await writeFile(path, iconv.encode(content, 'win1252'));
    const rejected: RejectedLine[] = [];
    const result = await scanExport({ path, contract, dialect: sodiwinDialect, businessDate: '2026-03-02', ...(maxIssues ? { maxIssues } : {}), onRejected: (r) => void rejected.push(r) });
    return { result, rejected };
  }

  it('hands over every rejected line, past the bounded list, with all its problems and its raw text', async () => {
    const bad = Array.from({ length: 250 }, (_, i) => `R${i};CL${i};F${i};31/02/2026;${i}.50;VIREMENT`);
    const { result, rejected } = await streamed(`${header}\r\nR-ok;CL;F;02/03/2026;1,00;CB\r\n${bad.join('\r\n')}\r\n`);
    expect(result.rowsRejected).toBe(250);
    expect(result.issues).toHaveLength(100); // the in-memory list stays bounded as before
    expect(rejected).toHaveLength(250);
    expect(rejected.map((r) => r.line)).toEqual(bad.map((_, i) => i + 3));
    expect(rejected[249]).toEqual({
      line: 252,
      raw: 'R249;CL249;F249;31/02/2026;249.50;VIREMENT',
      issues: [
        { line: 252, column: 'DATE_REGLEMENT', value: '31/02/2026', rule: 'no such calendar date' },
        { line: 252, column: 'MONTANT', value: '249.50', rule: 'decimal comma expected, found a point' },
      ],
    });
  });

  it('gives the whole value (not the 200 characters of a message), the quoted raw line, and lines with the wrong field count', async () => {
    const long = 'X'.repeat(5000);
    const { rejected } = await streamed(`${header}\r\nR1;"CL;""1""";F1;02/03/2026;1,00;${long}\r\nR2;CL2;F2\r\nR3;CL\u00013;F3;02/03/2026;1,00;CB\r\n`);
    expect(rejected[0]!.issues).toEqual([{ line: 2, column: 'MODE_REGLEMENT', value: long, rule: expect.any(String) }]);
    expect(rejected[0]!.raw).toBe(`R1;"CL;""1""";F1;02/03/2026;1,00;${long}`);
    expect(rejected[1]).toEqual({ line: 3, raw: 'R2;CL2;F2', issues: [{ line: 3, rule: 'expected 6 fields, found 3' }] });
    expect(rejected[2]!.issues).toEqual([{ line: 4, column: 'CODE_CLIENT', value: 'CL\u00013', rule: 'control character or NUL byte in a field' }]);
  });

  it('without a callback, nothing changes: the raw text is not even kept', async () => {
    const result = await scan(`${header}\r\nR1;CL1;F1;31/02/2026;1,00;CB\r\n`);
    expect(result).toMatchObject({ rowsRejected: 1, issues: [{ line: 2, column: 'DATE_REGLEMENT', value: '31/02/2026', rule: 'no such calendar date' }] });
  });
});

describe('scanExport line numbers', () => {
  it('are the lines an editor shows, after quoted fields holding CRLF, a lone CR or LF', async () => {
    const rows: { line: number }[] = [];
    await scan(`${header}\r\nR1;"CL\r\n1";F1;02/03/2026;1,00;CB\r\nR2;"CL\r2";F2;02/03/2026;1,00;CB\r\nR3;"CL\n\r\n3";F3;02/03/2026;1,00;CB\r\nR4;CL4;F4;02/03/2026;1,00;CB\r\n`, rows);
    // R1 ends on line 3, R2 on 4 (a lone CR breaks no line), R3 on 7, R4 on 8.
    expect(rows.map((r) => r.line)).toEqual([3, 4, 7, 8]);
  });
});
