/**
 * Pure statement packing for D1: turns rows into multi-row INSERT statements that respect
 * D1's per-statement limits, and groups statements into request-sized batches. No I/O.
 */
import type { D1Param, D1Statement } from './client.ts';
import { D1_MAX_BOUND_PARAMS, D1_MAX_STATEMENT_BYTES } from './limits.ts';

/** A value the packer can write into a row. Blobs (`Uint8Array`) need literal mode. */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array;

/** The INSERT flavours the packer emits. */
export type InsertVerb = 'INSERT' | 'INSERT OR IGNORE' | 'INSERT OR REPLACE';

/** Input of `packInserts`: one table, its columns, and rows aligned with those columns. */
export interface PackInsertsInput {
  table: string;
  columns: readonly string[];
  rows: readonly (readonly SqlValue[])[];
  /** Defaults to `INSERT`. */
  verb?: InsertVerb;
  /**
   * Columns of a unique index: each statement ends `ON CONFLICT (…) DO NOTHING`, so a statement
   * resent after its answer was lost inserts nothing twice. Unlike `INSERT OR IGNORE`, any other
   * constraint (NOT NULL, CHECK) still fails the statement.
   */
  onConflictDoNothing?: readonly string[];
  /** `bound`: values travel as `?` parameters; `literal`: values are written into the SQL text. */
  mode: 'bound' | 'literal';
  /** Bound parameters per statement; defaults to D1's 100. */
  maxParams?: number;
  /** SQL text per statement in UTF-8 bytes; defaults to D1's 100,000. */
  maxBytes?: number;
}

/** Options of `packBatches`. */
export interface PackBatchesOptions {
  /** Statements per request; defaults to `DEFAULT_BATCH_MAX_STATEMENTS`. */
  maxStatements?: number;
  /** Estimated JSON request body per request, in bytes; defaults to `DEFAULT_BATCH_MAX_BYTES`. */
  maxBytes?: number;
}

/** Our default statements per request: small enough to finish well within D1's 30 s. */
export const DEFAULT_BATCH_MAX_STATEMENTS = 200;

/** Our default request body budget (1 MB): keeps each request far from any body limit and fast. */
export const DEFAULT_BATCH_MAX_BYTES = 1_000_000;

/**
 * Packs rows into as few multi-row INSERT statements as the limits allow, in row order.
 * Throws, naming the table and the row index, when a row is malformed or cannot fit alone.
 */
export function packInserts(input: PackInsertsInput): D1Statement[] {
  const { table, columns, rows, mode } = input;
  const verb = input.verb ?? 'INSERT';
  const maxParams = input.maxParams ?? D1_MAX_BOUND_PARAMS;
  const maxBytes = input.maxBytes ?? D1_MAX_STATEMENT_BYTES;
  if (columns.length === 0) throw new RangeError(`packInserts: table "${table}" has no columns`);
  if (rows.length === 0) return [];
  if (mode === 'bound' && columns.length > maxParams) {
    throw new RangeError(
      `packInserts: table "${table}" row index 0 cannot fit: ${columns.length} columns need ${columns.length} bound parameters, more than the ${maxParams} allowed per statement (use literal mode)`,
    );
  }

  const prefix = `${verb} INTO ${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(', ')}) VALUES `;
  const suffix = input.onConflictDoNothing ? ` ON CONFLICT (${input.onConflictDoNothing.map(quoteIdentifier).join(', ')}) DO NOTHING` : '';
  if (input.onConflictDoNothing?.length === 0) throw new RangeError(`packInserts: table "${table}": onConflictDoNothing needs the columns of a unique index`);
  // The suffix counts against every statement's byte budget as if it were part of the prefix.
  const prefixBytes = utf8ByteLength(prefix) + utf8ByteLength(suffix);
  const boundTuple = `(${columns.map(() => '?').join(', ')})`;
  const statements: D1Statement[] = [];
  let tuples: string[] = [];
  let params: D1Param[] = [];
  let bytes = prefixBytes;

  const flush = (): void => {
    statements.push({ sql: prefix + tuples.join(',') + suffix, params });
    tuples = [];
    params = [];
    bytes = prefixBytes;
  };

  rows.forEach((row, rowIndex) => {
    const where = `packInserts: table "${table}" row index ${rowIndex}`;
    if (row.length !== columns.length) {
      throw new RangeError(`${where} has ${row.length} values for ${columns.length} columns`);
    }
    const tuple = mode === 'bound' ? boundTuple : literalTuple(row, columns, where);
    const tupleBytes = utf8ByteLength(tuple);
    if (prefixBytes + tupleBytes > maxBytes) {
      throw new RangeError(
        `${where} cannot fit: a one-row statement would be ${prefixBytes + tupleBytes} bytes, more than the ${maxBytes} allowed per statement`,
      );
    }
    const full =
      tuples.length > 0 &&
      (bytes + 1 + tupleBytes > maxBytes || (mode === 'bound' && params.length + columns.length > maxParams));
    if (full) flush();
    bytes += (tuples.length > 0 ? 1 : 0) + tupleBytes;
    tuples.push(tuple);
    if (mode === 'bound') params.push(...row.map((value, i) => boundValue(value, `${where} column "${columns[i]}"`)));
  });
  flush();
  return statements;
}

/**
 * Groups statements, in order, into batches of at most `maxStatements` statements and about
 * `maxBytes` of JSON body each. A statement larger than `maxBytes` on its own gets its own batch.
 */
export function packBatches(statements: readonly D1Statement[], options: PackBatchesOptions = {}): D1Statement[][] {
  const maxStatements = options.maxStatements ?? DEFAULT_BATCH_MAX_STATEMENTS;
  const maxBytes = options.maxBytes ?? DEFAULT_BATCH_MAX_BYTES;
  const batches: D1Statement[][] = [];
  const envelopeBytes = utf8ByteLength('{"batch":[]}');
  let current: D1Statement[] = [];
  let bytes = envelopeBytes;
  for (const statement of statements) {
    const size = statementJsonBytes(statement) + 1; // +1 for the separating comma
    if (current.length > 0 && (current.length >= maxStatements || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = envelopeBytes;
    }
    current.push(statement);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Like packBatches, with `closing` kept whole at the end of the last batch: in the batch of the
 * last statements when all of it fits there, else in a batch of its own after them. Its results
 * are then the last ones of the last answer, read in one transaction with the last statements.
 */
export function packBatchesEndingWith(statements: readonly D1Statement[], closing: readonly D1Statement[], options: PackBatchesOptions = {}): D1Statement[][] {
  const together = packBatches([...statements, ...closing], options);
  const last = together.at(-1) ?? [];
  const tail = last.slice(last.length - closing.length);
  if (closing.length === 0 || (tail.length === closing.length && tail.every((statement, i) => statement === closing[i]))) return together;
  return [...packBatches(statements, options), [...closing]];
}

/** Quotes an SQL identifier with double quotes, doubling any inside. */
export function quoteIdentifier(name: string): string {
  if (name === '' || name.includes('\u0000')) throw new TypeError(`invalid SQL identifier: ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Renders a value as an SQLite literal: strings quoted with '' doubling, finite numbers,
 * bigint as digits (64-bit range), null as NULL, booleans as 1/0, bytes as X'hex'.
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  switch (typeof value) {
    case 'string':
      // SQLite's tokenizer ends a string literal at NUL; such text must travel as a bound parameter.
      if (value.includes('\u0000')) throw new TypeError('a string containing NUL cannot be an SQL literal (use bound mode)');
      return `'${value.replaceAll("'", "''")}'`;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${value} is not a finite number`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'bigint':
      if (value < -(2n ** 63n) || value >= 2n ** 63n) throw new RangeError(`${value} is outside SQLite's 64-bit integer range`);
      return value.toString();
    case 'boolean':
      return value ? '1' : '0';
    default:
      if (value instanceof Uint8Array) return `X'${hex(value)}'`;
      throw new TypeError(`unsupported SQL value of type ${typeof value}`);
  }
}

/** Length of `text` once encoded as UTF-8 (lone surrogates count as the 3-byte U+FFFD). */
export function utf8ByteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Size of a statement as it travels in a batch body: `{"sql":...,"params":[...]}`. */
function statementJsonBytes(statement: D1Statement): number {
  const json = JSON.stringify(statement, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  return utf8ByteLength(json);
}

function literalTuple(row: readonly SqlValue[], columns: readonly string[], where: string): string {
  const parts = row.map((value, i) => {
    try {
      return sqlLiteral(value);
    } catch (err) {
      throw new TypeError(`${where} column "${columns[i]}": ${(err as Error).message}`);
    }
  });
  return `(${parts.join(',')})`;
}

function boundValue(value: SqlValue, where: string): D1Param {
  if (value instanceof Uint8Array) throw new TypeError(`${where}: blobs cannot travel as JSON parameters (use literal mode)`);
  if (value === undefined) throw new TypeError(`${where}: value is undefined`);
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`${where}: ${value} is not a finite number`);
  return value;
}


function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out.toUpperCase();
}
