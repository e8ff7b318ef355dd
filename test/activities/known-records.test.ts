import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanExport, type ExportScan, type RejectedLine } from '../../activities/export-reader.ts';
import type { KnownRecords } from '../../activities/known-records.ts';
import { contractFor } from '../../contracts/index.ts';
import { sodiwinDialect } from '../../contracts/types.ts';

/**
 * Records an earlier file held, recognised byte for byte and left out of the parser's input
 * (known-records.ts): the scan must count, total and number everything exactly as a scan that
 * parses every record, and must never take for a known record a line that the parser reads as
 * part of another record (after a bare line feed, inside a quoted field spanning lines).
 */
const contract = contractFor('payments');
const header = 'ID_REGLEMENT;CODE_CLIENT;NUM_FACTURE;DATE_REGLEMENT;MONTANT;MODE_REGLEMENT';
const r1 = 'R1;CL1;F1;02/03/2026;10,00;VIREMENT';
const r2 = 'R2;"CL;2";F2;02/03/2026;2,50;CB';
const r3 = 'R3;CL3;F3;03/03/2026;0,25;CHEQUE';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'known-records-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A memory of `records` (text → control units of MONTANT), each recognised once; the texts it was asked about. */
function memory(records: Record<string, bigint>, acceptsHeader = true): KnownRecords & { asked: string[]; recognised: string[] } {
  const left = new Map(Object.entries(records));
  const asked: string[] = [];
  const recognised: string[] = [];
  return {
    asked,
    recognised,
    header: (text) => text === header && acceptsHeader,
    recognise(text) {
      asked.push(text);
      const units = left.get(text);
      if (units === undefined) return undefined;
      left.delete(text);
      recognised.push(text);
      return [units];
    },
    settle: async () => undefined,
  };
}

interface Scanned {
  scan: ExportScan | { failed: string; line?: number };
  rows: { line: number; id: unknown; text: string | undefined }[];
  rejected: { line: number; raw: string }[];
}

async function scanned(content: string, known?: KnownRecords): Promise<Scanned> {
  const path = join(dir, `REGLEMENTS_${Math.random().toString(36).slice(2)}.csv`);
  await writeFile(path, iconv.encode(content, 'win1252'));
  const rows: Scanned['rows'] = [];
  const rejected: Scanned['rejected'] = [];
  const scan = await scanExport({
    path,
    fileName: 'REGLEMENTS_20260302.csv',
    contract,
    dialect: sodiwinDialect,
    businessDate: '2026-03-02',
    ...(known ? { known } : {}),
    onRow: (row, line, text) => void rows.push({ line, id: row.payment_id, text }),
    onRejected: (r: RejectedLine) => void rejected.push({ line: r.line, raw: r.raw }),
  }).catch((error: Error & { details?: unknown[] }) => ({ failed: error.message, line: (error.details?.[0] as { line?: number } | undefined)?.line }));
  return { scan, rows, rejected };
}

describe('scanExport with records known from an earlier file', () => {
  it('counts and totals a recognised record as read and valid, and numbers every other line as the file does', async () => {
    const file = `${header}\r\n${r1}\r\n${r2}\r\nR9;CL9;F9;31/02/2026;1,00;CB\r\n${r3}\r\n`;
    const known = memory({ [r1]: 1000n, [r2]: 250n });
    const withKnown = await scanned(file, known);
    const parsedAll = await scanned(file);
    expect(known.recognised).toEqual([r1, r2]);
    // The same scan as parsing every record: counts, exact totals, the rejected line and its number.
    expect(withKnown.scan).toEqual(parsedAll.scan);
    expect(withKnown.scan).toMatchObject({ rowsRead: 4, rowsValid: 3, rowsRejected: 1, controlTotals: { amount: '12.75' } });
    expect(withKnown.rejected).toEqual([{ line: 4, raw: 'R9;CL9;F9;31/02/2026;1,00;CB' }]);
    // Only the record not recognised is parsed, on its own line, with its text as in the file.
    expect(withKnown.rows).toEqual([{ line: 5, id: 'R3', text: r3 }]);
    expect(parsedAll.rows.map((r) => [r.line, r.text])).toEqual([[2, r1], [3, r2], [5, r3]]);
  });

  it('parses a record met twice the second time (the memory gives each once), so a repeated key is still seen', async () => {
    const known = memory({ [r1]: 1000n });
    const { scan, rows } = await scanned(`${header}\r\n${r1}\r\n${r3}\r\n${r1}\r\n`, known);
    expect(scan).toMatchObject({ rowsRead: 3, rowsValid: 3, controlTotals: { amount: '20.25' } });
    expect(rows.map((r) => [r.line, r.id])).toEqual([[3, 'R3'], [4, 'R1']]);
  });

  it('never takes a line the parser reads as part of another record: after a bare line feed, inside a quoted field', async () => {
    // Line 3 ends with a bare LF: the parser's record runs on into line 4 (r1's text), which is not a record start.
    // Line 5 opens a quoted field closed on line 7: line 6 (r3's text) is inside it.
    const file = `${header}\r\n${r2}\r\nR4;CL4;F4;02/03/2026;1,00;CB\n${r1}\r\nR5;"CL\r\n${r3}\r\n5";F5;02/03/2026;1,00;CB\r\n`;
    const known = memory({ [r1]: 1000n, [r2]: 250n, [r3]: 25n });
    const withKnown = await scanned(file, known);
    const parsedAll = await scanned(file);
    expect(known.recognised).toEqual([r2]);
    expect(known.asked).not.toContain(r1);
    expect(known.asked).not.toContain(r3);
    expect(withKnown.scan).toEqual(parsedAll.scan);
    expect(withKnown.rejected).toEqual(parsedAll.rejected);
    expect(withKnown.rows.map((r) => r.line)).toEqual(parsedAll.rows.filter((r) => r.id !== 'R2').map((r) => r.line));
  });

  it('places an unclosed quote on its own line when records before it were left out', async () => {
    const file = `${header}\r\n${r1}\r\n${r2}\r\nR6;"CL6;F6;02/03/2026;1,00;CB\r\n${r3}\r\n`;
    const withKnown = await scanned(file, memory({ [r1]: 1000n, [r2]: 250n }));
    const parsedAll = await scanned(file);
    expect(parsedAll.scan).toMatchObject({ failed: expect.stringContaining('a quote opened on line 4 is never closed'), line: 4 });
    expect(withKnown.scan).toEqual(parsedAll.scan);
  });

  it('recognises nothing when the memory refuses the header (another contract, header or dialect)', async () => {
    const known = memory({ [r1]: 1000n }, false);
    const { scan, rows } = await scanned(`${header}\r\n${r1}\r\n`, known);
    expect(known.asked).toEqual([]);
    expect(scan).toMatchObject({ rowsRead: 1, rowsValid: 1 });
    expect(rows).toEqual([{ line: 2, id: 'R1', text: r1 }]);
  });
});
