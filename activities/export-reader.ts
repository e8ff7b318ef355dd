import { isAscii } from 'node:buffer';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import iconv from 'iconv-lite';
import { ApplicationFailure } from '@temporalio/common';
import { activityCancellation, cancellationOr } from '../d1/cancellation.ts';
import { formatDecimal } from '../common/decimal.ts';
import { capText, etlFailure, type EtlErrorDetails, type RowIssue } from '../common/errors.ts';
import type { Dialect, TableContract } from '../contracts/types.ts';
import { headerLayout } from './header-layout.ts';
import { skippingKnownRecords, type KnownRecords } from './known-records.ts';
import { openRegularFile, type OpenedFile } from './nas.ts';
import { rowValidatorFor, type NormalisedRow } from './row-validator.ts';

/**
 * The largest record (one CSV row, quoted line breaks included) read, in bytes: about a
 * thousand times a real Sodiwin row and half of D1's 2 MB per row. Above it the parser
 * stops (csv-parse `max_record_size`) with RecordTooLarge instead of buffering a runaway
 * field or an unclosed quote until the worker runs out of memory. The same for every
 * table: no contract has a field near it.
 */
export const maxRecordBytes = 1024 * 1024;

/** The longest header line read, in bytes, checked on the raw bytes before parsing: a real header is under 1 KB. */
export const maxHeaderBytes = 64 * 1024;

/** A rejected line in full, as `onRejected` receives it: every problem found on it, with the whole field values. */
export interface RejectedLine {
  /** The 1-based line the record ends on (as in the issues). */
  line: number;
  /** Every problem of the line, in column order; each `value` the field as read, not cut. */
  issues: RowIssue[];
  /** The record as it is in the file, quotes included, without its line ending. */
  raw: string;
}

/** What one pass over an export found. */
export interface ExportScan {
  rowsRead: number;
  rowsValid: number;
  rowsRejected: number;
  /** The first rejected values (at most `maxIssues`; `onRejected` receives them all). */
  issues: RowIssue[];
  /** Sum of each control-total column over the valid rows, as a decimal string at the column's scale. */
  controlTotals: Record<string, string>;
}

/** How to scan one export file. */
export interface ScanOptions {
  path: string;
  /** The export's own name (e.g. `CLIENTS_20260302.csv`), for messages; default: the path's base name. */
  fileName?: string;
  contract: TableContract;
  dialect: Dialect;
  businessDate: string;
  /**
   * Called for every valid row parsed, in file order, with its 1-based line number and, with `known`,
   * the record's text as in the file without its record delimiter; awaited (back-pressure).
   */
  onRow?: (row: NormalisedRow, line: number, text: string | undefined) => Promise<void> | void;
  /**
   * Records known valid from an earlier file (known-records.ts): each one met again is counted as
   * read and valid, its control values summed, and not parsed (nor passed to `onRow`).
   */
  known?: KnownRecords;
  /** Rejected values kept in `issues`, for the error message and the alert (default 100). */
  maxIssues?: number;
  /**
   * Called for every rejected line, in file order, with all its problems and its raw text; awaited
   * (back-pressure), so a caller can stream every rejected line to storage while `issues` stays bounded.
   */
  onRejected?: (rejected: RejectedLine) => Promise<void> | void;
  /** Default `maxRecordBytes`; lower in tests. */
  maxRecordBytes?: number;
  /** Default `maxHeaderBytes`; lower in tests. */
  maxHeaderBytes?: number;
  /**
   * The file already opened (and checked) by the caller, read from its first byte instead of
   * opening `path` again: what was checked and hashed is what is scanned. The caller closes it.
   */
  opened?: OpenedFile;
  /** Stops the scan between chunks, throwing its reason; default: the running activity's cancellation (none outside one). */
  signal?: AbortSignal;
}

const mojibakePattern = /Ã[\u0080-\u00ff€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|â‚¬|â€[™œ\u009d“”˜¦]|Å“/;
 
const controlCharacter = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * Streams an export through decode → CSV parse → header check → row validation,
 * holding one row at a time (memory stays flat however large the file). Structural
 * problems throw a typed, non-retryable failure; row problems are counted and listed.
 * A cancelled activity (a worker shutting down) stops the stream and throws its CancelledFailure.
 */
export async function scanExport(options: ScanOptions): Promise<ExportScan> {
  const { contract, dialect, businessDate } = options;
  const signal = options.signal ?? activityCancellation();
  const file = options.fileName ?? basename(options.path);
  const where: EtlErrorDetails = { table: contract.table, businessDate, file };
  const maxIssues = options.maxIssues ?? 100;
  // Until the header is read: the contract's. An older archived file may name or hold fewer columns (header-layout.ts).
  let validate = rowValidatorFor(contract);
  let fileHeader: string[] = contract.columns.map((c) => c.source);
  let fieldSources = fileHeader;
  const totals = new Map(contract.controlTotals.map((name) => [name, 0n]));
  const scales = new Map(contract.columns.map((c) => [c.name, c.type.kind === 'decimal' ? c.type.scale : 0]));
  const scan: ExportScan = { rowsRead: 0, rowsValid: 0, rowsRejected: 0, issues: [], controlTotals: {} };
  const recordLimit = options.maxRecordBytes ?? maxRecordBytes;
  const encoding = new ByteProbe(where, options.maxHeaderBytes ?? maxHeaderBytes);
  let sawHeader = false;
  let headerChecked = false;
  let lastLine = 0;
  // Text that reads like UTF-8 seen through Windows-1252: a UTF-8 file (known only at the end) or real mojibake.
  let firstMojibake: { line: number; column: string; value: string } | undefined;

  // A UTF-8 byte-order mark is tolerated in a UTF-8 export and refused in a Windows-1252 one (checkHeader).
  // The parser runs ahead of the row checks: the last line it finished (as it counts), to place an unclosed quote.
  let lastParsedLine = 0;
  // csv-parse counts each CR inside a quoted field as a line of its own (a quoted CRLF as two):
  // subtracting them keeps line numbers those of the file's LF-ended lines, as an editor shows them.
  let parsedCrs = 0;
  let consumedCrs = 0;
  // A record recognised (known-records.ts) is read and valid, as it was in the earlier file, and
  // left out of the parser's input: the lines the parser counts are turned back into the file's.
  const controlNames = [...totals.keys()];
  const onKnown = (controls: readonly bigint[]) => {
    scan.rowsRead += 1;
    scan.rowsValid += 1;
    controlNames.forEach((name, i) => totals.set(name, totals.get(name)! + (controls[i] ?? 0n)));
  };
  const skipping = options.known ? skippingKnownRecords(options.known, dialect, onKnown, recordLimit) : undefined;
  const fileLine = (parserLine: number) => (skipping ? skipping.fileLine(parserLine) : parserLine);
  const parser = parse({
    delimiter: dialect.delimiter,
    quote: dialect.quote,
    relax_column_count: true,
    info: true,
    skip_empty_lines: false,
    bom: dialect.encoding === 'utf-8',
    max_record_size: recordLimit,
    // The record's text as in the file, only when a caller wants rejected lines in full or records' texts.
    raw: options.onRejected !== undefined || options.known !== undefined,
    on_record: (record, context) => {
      // With `info`, the record arrives with its info: `{ record, info }`.
      parsedCrs += carriageReturns((record as unknown as { record: string[] }).record);
      lastParsedLine = context.lines - parsedCrs;
      return record;
    },
  });
  const consume = new Transform({
    objectMode: true,
    transform: (chunk: { record: string[]; info: { lines: number }; raw?: string }, _enc, done) => {
      consumedCrs += carriageReturns(chunk.record);
      lastLine = fileLine(chunk.info.lines - consumedCrs);
      handleRecord(chunk.record, lastLine, chunk.raw).then(() => done(), done);
    },
  });

  async function handleRecord(record: string[], line: number, raw: string | undefined): Promise<void> {
    if (!sawHeader) {
      sawHeader = true;
      checkHeader(record, line);
      headerChecked = true;
      return;
    }
    if (record.length === 1 && record[0] === '') return; // a blank line (e.g. the final CRLF)
    scan.rowsRead += 1;
    if (record.length !== fileHeader.length) {
      return reject([{ line, rule: `expected ${fileHeader.length} fields, found ${record.length}` }], record, raw);
    }
    if (record.join('\u0000') === fileHeader.join('\u0000')) return reject([{ line, rule: 'the header row is repeated inside the file (two exports joined?)' }], record, raw);
    const fields: Record<string, string> = {};
    const problems: RowIssue[] = [];
    record.forEach((value, i) => {
      const column = fieldSources[i]!;
      if (controlCharacter.test(value)) problems.push({ line, column, value: printable(value), rule: 'control character or NUL byte in a field' });
      else if (value.includes('\ufffd')) throw etlFailure('EncodingMismatch', `bytes that are not valid ${dialect.encoding} (the file is in another encoding)`, { ...where, line, column, value });
      else if (!firstMojibake && mojibakePattern.test(value)) firstMojibake = { line, column, value: capText(value) };
      fields[column] = value;
    });
    if (problems.length > 0) return reject(problems, record, raw);
    const result = validate(fields, line);
    if (!result.ok) return reject(result.issues, record, raw);
    scan.rowsValid += 1;
    // A decimal's value is already its units at the column's scale (a whole number's, itself): summed exactly.
    for (const [name, sum] of totals) totals.set(name, sum + BigInt(result.row[name] ?? 0));
    await options.onRow?.(result.row, line, raw === undefined ? undefined : recordText(raw, dialect.recordDelimiter));
  }

  function checkHeader(record: string[], line: number): void {
    const first = record[0] ?? '';
    if (first.startsWith('\ufeff') || first.startsWith('ï»¿')) throw etlFailure('EncodingMismatch', 'the file starts with a UTF-8 byte-order mark; Sodiwin exports are Windows-1252', { ...where, line });
    if (record.length === 1 && first.includes(dialect.delimiter === ';' ? ',' : ';')) {
      throw etlFailure('CsvHeaderMismatch', `the header is not separated by "${dialect.delimiter}"`, { ...where, line, value: capText(first) });
    }
    const layout = headerLayout(contract, record, businessDate);
    if (!layout.ok) throw etlFailure('CsvHeaderMismatch', layout.problem, { ...where, line, rule: 'header' });
    fileHeader = record;
    fieldSources = layout.sources;
    // A column the (older) file predates is NULL in every row, as in the rows first loaded from it, even if required now.
    if (layout.absent.length > 0) validate = rowValidatorFor({ ...contract, columns: contract.columns.map((c) => (layout.absent.includes(c.name) ? { ...c, required: false } : c)) });
  }

  async function reject(issues: RowIssue[], record: string[], raw: string | undefined): Promise<void> {
    scan.rowsRejected += 1;
    for (const issue of issues) if (scan.issues.length < maxIssues) scan.issues.push(issue);
    if (!options.onRejected) return;
    // The issues carry values cut for messages; the callback gets each field as read.
    const full = issues.map((issue) => {
      const index = issue.column === undefined ? -1 : fieldSources.indexOf(issue.column);
      return index >= 0 && index < record.length ? { ...issue, value: record[index]! } : issue;
    });
    await options.onRejected({ line: issues[0]!.line, issues: full, raw: (raw ?? '').replace(/\r?\n$/, '').replace(/\r$/, '') });
  }

  const opened = options.opened ?? (await openExport(options.path, where));
  try {
    const streamOptions = signal ? { signal } : {};
    const decoded = [opened.handle.createReadStream({ start: 0, autoClose: false }), encoding, iconv.decodeStream(dialect.encoding === 'windows-1252' ? 'win1252' : 'utf8')] as const;
    if (skipping) await pipeline(...decoded, skipping.stream, parser, consume, streamOptions);
    else await pipeline(...decoded, parser, consume, streamOptions);
  } catch (error) {
    if (signal?.aborted) cancellationOr(error, signal);
    if (isApplicationFailure(error)) throw error;
    if (!(error instanceof CsvError)) throw error;
    // The parser may fail on line 2 before the header was checked: a wrong header is the clearer reason.
    if (!headerChecked) checkHeader(await firstLineFields(opened, dialect), 1);
    if (error.code === 'CSV_MAX_RECORD_SIZE') {
      const line = fileLine(lastParsedLine + 1);
      throw etlFailure('RecordTooLarge', `the record that starts on line ${line} is larger than ${recordLimit} bytes, the most one row may have: a runaway field or an unclosed quote (it was not read further)`, {
        ...where,
        line,
        rule: `at most ${recordLimit} bytes per record`,
      });
    }
    const line = error.code === 'CSV_QUOTE_NOT_CLOSED' ? fileLine(lastParsedLine + 1) : typeof error.lines === 'number' ? fileLine(error.lines) : undefined;
    const problem = error.code === 'CSV_QUOTE_NOT_CLOSED' ? `a quote opened on line ${line} is never closed` : error.message;
    throw etlFailure('CsvMalformed', `the CSV cannot be parsed: ${problem}`, { ...where, ...(line ? { line } : {}), rule: error.code });
  } finally {
    if (!options.opened) await opened.handle.close();
  }
  if (!sawHeader) throw etlFailure('EmptyExport', 'the file is empty (no header row)', where);
  if (!encoding.endsWithLineBreak()) {
    throw etlFailure('ExportIncomplete', 'the last line has no line ending: the file was cut short', { ...where, line: lastLine, rule: `every line ends with ${JSON.stringify(dialect.recordDelimiter)}` });
  }
  if (dialect.encoding === 'windows-1252' && encoding.looksLikeUtf8()) {
    throw etlFailure('EncodingMismatch', 'the file is UTF-8 but the contract declares Windows-1252 (accents would be garbled)', where);
  }
  if (firstMojibake) throw etlFailure('Mojibake', 'text looks double-encoded (UTF-8 read as Windows-1252)', { ...where, ...firstMojibake });
  for (const [name, sum] of totals) scan.controlTotals[name] = formatDecimal(sum, scales.get(name) ?? 0);
  return scan;
}

/** Opens an export (in the archive: ours, but still read without following a link) as a regular file, or NotARegularFile. */
async function openExport(path: string, where: EtlErrorDetails): Promise<OpenedFile> {
  const opened = await openRegularFile(path);
  if ('notRegular' in opened) throw etlFailure('NotARegularFile', `${path} is ${opened.notRegular}; only a regular file is read`, { ...where, rule: 'a regular file' });
  return opened;
}

/**
 * Watches the raw bytes on their way to the decoder: refuses a file that is not text at
 * all (compressed, or binary with NUL bytes before the header ends) and a header line
 * longer than `maxHeaderBytes` (before the parser buffers it), tells whether every
 * non-ASCII byte forms valid UTF-8, and remembers whether the file ends with a line break.
 */
class ByteProbe extends Transform {
  readonly #where: EtlErrorDetails;
  readonly #maxHeaderBytes: number;
  /** Bytes of the header line seen so far, until its line feed. */
  #headerBytes: number | 'done' = 0;
  #decoder = new TextDecoder('utf-8', { fatal: true });
  #sniffed = false;
  #sawNonAscii = false;
  #validUtf8 = true;
  #lastByte: number | undefined;
  constructor(where: EtlErrorDetails, maxHeaderBytes: number) {
    super();
    this.#where = where;
    this.#maxHeaderBytes = maxHeaderBytes;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    if (chunk.length === 0) return done(null, chunk);
    if (!this.#sniffed) {
      this.#sniffed = true;
      const notText = notTextReason(chunk);
      if (notText) return done(etlFailure('NotCsv', `the file is ${notText}, not a CSV export`, { ...this.#where, line: 1, value: hexPrefix(chunk), rule: 'a CSV text file' }));
    }
    if (this.#headerBytes !== 'done') {
      const end = chunk.indexOf(0x0a);
      this.#headerBytes = end < 0 ? this.#headerBytes + chunk.length : this.#headerBytes + end + 1;
      if (this.#headerBytes > this.#maxHeaderBytes) {
        const size = end < 0 ? `more than ${this.#maxHeaderBytes}` : String(this.#headerBytes);
        return done(etlFailure('RecordTooLarge', `the header line is ${size} bytes, more than the ${this.#maxHeaderBytes} bytes a header may have (it was not parsed)`, {
          ...this.#where,
          line: 1,
          rule: `at most ${this.#maxHeaderBytes} bytes in the header line`,
        }));
      }
      if (end >= 0) this.#headerBytes = 'done';
    }
    if (this.#validUtf8) {
      if (!this.#sawNonAscii && !isAscii(chunk)) this.#sawNonAscii = true;
      try {
        this.#decoder.decode(chunk, { stream: true });
      } catch {
        this.#validUtf8 = false;
      }
    }
    this.#lastByte = chunk[chunk.length - 1];
    done(null, chunk);
  }
  looksLikeUtf8(): boolean {
    return this.#sawNonAscii && this.#validUtf8;
  }
  /** True for an empty file or one whose last byte is a line feed. */
  endsWithLineBreak(): boolean {
    return this.#lastByte === undefined || this.#lastByte === 0x0a;
  }
}

/** Why the first bytes of a file cannot be a CSV export, or undefined when they can. */
function notTextReason(head: Buffer): string | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip-compressed (it starts with the gzip signature 1f 8b)';
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return 'a ZIP archive (it starts with "PK")';
  const headerEnd = head.indexOf(0x0a);
  const header = head.subarray(0, headerEnd < 0 ? Math.min(head.length, 4096) : headerEnd);
  if (header.includes(0x00)) return 'binary data (NUL bytes where the header row should be)';
  // Text has a stray control byte at most; binary data has one byte in eight or so.
  const sample = head.subarray(0, 4096);
  const controlBytes = sample.filter((b) => (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f).length;
  if (controlBytes > sample.length * 0.05) return `binary data (${controlBytes} control bytes in its first ${sample.length} bytes)`;
  return undefined;
}

/** The header line's fields, read straight from the open file (headers are never quoted; at most `maxHeaderBytes`). */
async function firstLineFields(file: OpenedFile, dialect: Dialect): Promise<string[]> {
  const { buffer, bytesRead } = await file.handle.read({ buffer: Buffer.alloc(maxHeaderBytes), position: 0 });
  const head = buffer.subarray(0, bytesRead);
  const end = head.indexOf(0x0a);
  const text = iconv.decode(head.subarray(0, end < 0 ? head.length : end), dialect.encoding === 'windows-1252' ? 'win1252' : 'utf8');
  const line = dialect.encoding === 'utf-8' ? text.replace(/^\ufeff/, '') : text; // the parser drops a UTF-8 BOM too
  return line.replace(/\r$/, '').split(dialect.delimiter);
}

/** The first bytes of a file in hex, for the error report. */
function hexPrefix(chunk: Buffer): string {
  return [...chunk.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

function printable(value: string): string {
   
  return capText(value.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/**
 * A record's text without its record delimiter, from csv-parse's `raw`, which ends with the
 * delimiter's first character (`\r` of `\r\n`) or, were that to change, the whole delimiter.
 */
function recordText(raw: string, delimiter: string): string {
  if (raw.endsWith(delimiter)) return raw.slice(0, -delimiter.length);
  return raw.endsWith(delimiter[0]!) ? raw.slice(0, -1) : raw;
}

/** Carriage returns inside a record's fields (each one csv-parse counted as a line). */
function carriageReturns(record: readonly string[]): number {
  let count = 0;
  for (const field of record) if (field.includes('\r')) for (const c of field) if (c === '\r') count += 1;
  return count;
}

function isApplicationFailure(error: unknown): error is ApplicationFailure {
  return error instanceof ApplicationFailure;
}
