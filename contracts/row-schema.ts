import { z } from 'zod';
import { decimalFromNumber, formatDecimal } from '../common/decimal.ts';
import type { ColumnContract, ColumnType, TableContract } from './types.ts';
import { parseDecimal, parseFrenchDate, parseInteger, type Parsed } from './values.ts';

/**
 * A business value once normalised: text, ISO date or enum code as a string, a whole number as
 * a number, a decimal as its whole units of 10^-scale (a safe integer: 1234,50 at scale 2 is 123450).
 */
export type BusinessValue = string | number | null;

/** One row keyed by warehouse column names. */
export type NormalisedRow = Record<string, BusinessValue>;

/** Reads one trimmed, non-empty field of a column type, checking its bounds (a decimal's minimum as units, `minUnits`). */
function readValue(type: ColumnType, text: string, minimumUnits: number | undefined): Parsed<string | number> {
  switch (type.kind) {
    case 'text':
      return text.length > type.maxLength ? { ok: false, rule: `longer than ${type.maxLength} characters` } : { ok: true, value: text };
    case 'enum':
      return type.values.includes(text) ? { ok: true, value: text } : { ok: false, rule: `not one of ${type.values.join(', ')}` };
    case 'date':
      return parseFrenchDate(text);
    case 'integer': {
      const parsed = parseInteger(text);
      if (!parsed.ok) return parsed;
      if (type.min !== undefined && parsed.value < type.min) return { ok: false, rule: `must be at least ${type.min}` };
      if (type.max !== undefined && parsed.value > type.max) return { ok: false, rule: `must be at most ${type.max}` };
      return parsed;
    }
    case 'decimal': {
      const parsed = parseDecimal(text, type.scale);
      if (!parsed.ok) return parsed;
      if (minimumUnits !== undefined && parsed.value < minimumUnits) return { ok: false, rule: type.min === 0 ? 'must not be negative' : `must be at least ${type.min}` };
      return parsed;
    }
  }
}

/** A contract's minimum (a number such as 0) in units at the column's scale. */
function minUnits(min: number, scale: number): number {
  const read = decimalFromNumber(min, scale);
  if (!read.ok) throw new RangeError(`contract minimum ${min}: ${read.rule}`);
  return Number(read.value.units);
}

/** One column's check, compiled once from its contract: source text in, the normalised value or the broken rule out. */
export type ColumnParser = (raw: string) => Parsed<BusinessValue>;

/** The hot path of validate: a plain function per column (zod's `columnSchema` wraps the same one). */
export function columnParser(column: ColumnContract): ColumnParser {
  const type = column.type;
  const minimumUnits = type.kind === 'decimal' && type.min !== undefined ? minUnits(type.min, type.scale) : undefined;
  const empty: Parsed<BusinessValue> = column.required ? { ok: false, rule: 'required value is empty' } : { ok: true, value: null };
  return (raw) => {
    const text = raw.trim();
    return text === '' ? empty : readValue(type, text, minimumUnits);
  };
}

/** The zod schema of one column: source text in, normalised value out, with the broken rule as the message. */
export function columnSchema(column: ColumnContract): z.ZodType<BusinessValue, string> {
  const parse = columnParser(column);
  return z.string().transform((raw, ctx): BusinessValue => {
    const parsed = parse(raw);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.rule });
    return z.NEVER;
  });
}

/** The zod schema of a whole row, keyed by source headers; the output is keyed by warehouse names. */
export function rowSchemaFor(contract: TableContract) {
  const shape = Object.fromEntries(contract.columns.map((c) => [c.source, columnSchema(c)]));
  return z.object(shape).transform((row) => Object.fromEntries(contract.columns.map((c) => [c.name, row[c.source] ?? null])) as NormalisedRow);
}

/**
 * The canonical text of a value for hashing and checksums: a decimal's units at the column's
 * scale (123450 at scale 2 is `1234.50`, the text a REAL 1234.5 gave before amounts were
 * stored as units, so row hashes and checksums did not move); NULL as `\N`, distinct from the
 * empty string.
 */
export function canonicalValue(type: ColumnType, value: BusinessValue | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (type.kind === 'decimal') return formatDecimal(Number(value), type.scale);
  if (type.kind === 'integer') return String(Number(value));
  return String(value);
}
