import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { parse } from 'csv-parse';
import iconv from 'iconv-lite';
import { ApplicationFailure } from '@temporalio/common';
import { etlFailure, type EtlErrorDetails, type RowIssue } from '../common/errors.ts';
import type { Dialect, TableContract } from '../contracts/types.ts';
import { rowValidatorFor, type NormalisedRow } from './row-validator.ts';

/** What one pass over an export found. */
export interface ExportScan {
  rowsRead: number;
  rowsValid: number;
  rowsRejected: number;
  /** The first rejected values (at most `maxIssues`). */
  issues: RowIssue[];
  /** Sum of each control-total column over the valid rows, as a decimal string at the column's scale. */
  controlTotals: Record<string, string>;
}

/** How to scan one export file. */
export interface ScanOptions {
  path: string;
  contract: TableContract;
  dialect: Dialect;
  businessDate: string;
  /** Called for every valid row, in file order, with its 1-based line number; awaited (back-pressure). */
  onRow?: (row: NormalisedRow, line: number) => Promise<void> | void;
  maxIssues?: number;
}

const mojibakePattern = /Ã[\u0080-\u00ff€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|â‚¬|â€[™œ\u009d“”˜¦]|Å“/;
 
const controlCharacter = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Streams an export through decode → CSV parse → header check → row validation,
 * holding one row at a time (memory stays flat however large the file). Structural
 * problems throw a typed, non-retryable failure; row problems are counted and listed.
 */
export async function scanExport(options: ScanOptions): Promise<ExportScan> {
  const { contract, dialect, businessDate } = options;
  const file = basename(options.path);
  const where: EtlErrorDetails = { table: contract.table, businessDate, file };
  const maxIssues = options.maxIssues ?? 100;
  const validate = rowValidatorFor(contract);
  const expectedHeader = contract.columns.map((c) => c.source);
  const totals = new Map(contract.controlTotals.map((name) => [name, 0n]));
  const scales = new Map(contract.columns.map((c) => [c.name, c.type.kind === 'decimal' ? c.type.scale : 0]));
  const scan: ExportScan = { rowsRead: 0, rowsValid: 0, rowsRejected: 0, issues: [], controlTotals: {} };
  const encoding = new EncodingProbe();
  let sawHeader = false;
  // Text that reads like UTF-8 seen through Windows-1252: a UTF-8 file (known only at the end) or real mojibake.
  let firstMojibake: { line: number; column: string; value: string } | undefined;

  const parser = parse({ delimiter: dialect.delimiter, quote: dialect.quote, relax_column_count: true, info: true, skip_empty_lines: false, bom: false });
  const consume = new Transform({
    objectMode: true,
    transform: (chunk: { record: string[]; info: { lines: number } }, _enc, done) => {
      handleRecord(chunk.record, chunk.info.lines).then(() => done(), done);
    },
  });

  async function handleRecord(record: string[], line: number): Promise<void> {
    if (!sawHeader) {
      sawHeader = true;
      return checkHeader(record, line);
    }
    if (record.length === 1 && record[0] === '') return; // a blank line (e.g. the final CRLF)
    scan.rowsRead += 1;
    if (record.length !== expectedHeader.length) {
      return reject([{ line, rule: `expected ${expectedHeader.length} fields, found ${record.length}` }]);
    }
    const raw: Record<string, string> = {};
    const problems: RowIssue[] = [];
    record.forEach((value, i) => {
      const column = expectedHeader[i]!;
      if (controlCharacter.test(value)) problems.push({ line, column, value: printable(value), rule: 'control character or NUL byte in a field' });
      else if (value.includes('\ufffd')) throw etlFailure('EncodingMismatch', `bytes that are not valid ${dialect.encoding} (the file is in another encoding)`, { ...where, line, column, value });
      else if (!firstMojibake && mojibakePattern.test(value)) firstMojibake = { line, column, value: value.slice(0, 200) };
      raw[column] = value;
    });
    if (problems.length > 0) return reject(problems);
    const result = validate(raw, line);
    if (!result.ok) return reject(result.issues);
    scan.rowsValid += 1;
    for (const [name, sum] of totals) totals.set(name, sum + scaled(result.row[name], scales.get(name) ?? 0));
    await options.onRow?.(result.row, line);
  }

  function checkHeader(record: string[], line: number): void {
    const first = record[0] ?? '';
    if (first.startsWith('\ufeff') || first.startsWith('ï»¿')) throw etlFailure('EncodingMismatch', 'the file starts with a UTF-8 byte-order mark; Sodiwin exports are Windows-1252', { ...where, line });
    if (record.length === 1 && first.includes(dialect.delimiter === ';' ? ',' : ';')) {
      throw etlFailure('CsvHeaderMismatch', `the header is not separated by "${dialect.delimiter}"`, { ...where, line, value: first.slice(0, 200) });
    }
    const missing = expectedHeader.filter((h) => !record.includes(h));
    const extra = record.filter((h) => !expectedHeader.includes(h));
    if (missing.length || extra.length || record.join(';') !== expectedHeader.join(';')) {
      const parts = [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unexpected ${extra.join(', ')}` : '', !missing.length && !extra.length ? 'columns in the wrong order' : ''].filter(Boolean);
      throw etlFailure('CsvHeaderMismatch', `header does not match the ${contract.table} contract: ${parts.join('; ')} (expected ${expectedHeader.join(';')})`, { ...where, line, rule: 'header' });
    }
  }

  function reject(issues: RowIssue[]): void {
    scan.rowsRejected += 1;
    for (const issue of issues) if (scan.issues.length < maxIssues) scan.issues.push(issue);
  }

  try {
    await pipeline(createReadStream(options.path), encoding, iconv.decodeStream(dialect.encoding === 'windows-1252' ? 'win1252' : 'utf8'), parser, consume);
  } catch (error) {
    if (isApplicationFailure(error)) throw error;
    const csv = error as { code?: string; lines?: number; message?: string };
    if (csv.code?.startsWith('CSV_')) {
      throw etlFailure('CsvMalformed', `the CSV cannot be parsed: ${csv.message ?? csv.code}`, { ...where, ...(csv.lines ? { line: csv.lines } : {}), rule: csv.code });
    }
    throw error;
  }
  if (!sawHeader) throw etlFailure('EmptyExport', 'the file is empty (no header row)', where);
  if (dialect.encoding === 'windows-1252' && encoding.looksLikeUtf8()) {
    throw etlFailure('EncodingMismatch', 'the file is UTF-8 but the contract declares Windows-1252 (accents would be garbled)', where);
  }
  if (firstMojibake) throw etlFailure('Mojibake', 'text looks double-encoded (UTF-8 read as Windows-1252)', { ...where, ...firstMojibake });
  for (const [name, sum] of totals) scan.controlTotals[name] = formatScaled(sum, scales.get(name) ?? 0);
  return scan;
}

/** Watches the raw bytes: a file whose every non-ASCII byte forms valid UTF-8 is UTF-8. */
class EncodingProbe extends Transform {
  #decoder = new TextDecoder('utf-8', { fatal: true });
  #sawNonAscii = false;
  #validUtf8 = true;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    if (this.#validUtf8) {
      if (!this.#sawNonAscii && chunk.some((b) => b >= 0x80)) this.#sawNonAscii = true;
      try {
        this.#decoder.decode(chunk, { stream: true });
      } catch {
        this.#validUtf8 = false;
      }
    }
    done(null, chunk);
  }
  looksLikeUtf8(): boolean {
    return this.#sawNonAscii && this.#validUtf8;
  }
}

/** A normalised numeric value as an integer at `scale` decimals (exact sums). */
function scaled(value: unknown, scale: number): bigint {
  if (value === null || value === undefined) return 0n;
  return BigInt(Math.round(Number(value) * 10 ** scale));
}

/** An integer at `scale` decimals back to its decimal text, e.g. 123450n, 2 → "1234.50". */
export function formatScaled(value: bigint, scale: number): string {
  if (scale === 0) return value.toString();
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

function printable(value: string): string {
   
  return value.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).slice(0, 200);
}

function isApplicationFailure(error: unknown): error is ApplicationFailure {
  return error instanceof ApplicationFailure;
}
