/**
 * Reading Sodiwin's field values: decimal comma, `dd/mm/yyyy` dates, whole numbers.
 * Pure, exact, and strict: anything ambiguous is refused with the rule it broke.
 */

import { parseDecimal as parseExactDecimal } from '../common/decimal.ts';

/** A parsed value, or the rule the text broke. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; rule: string };

const integerPattern = /^-?\d+$/;
const datePattern = /^(\d{2})\/(\d{2})\/(\d{4})$/;

/**
 * `1234,50` at scale 2 → 123450: the amount in whole units of 10^-scale, what the row carries
 * and D1 stores (`<name>_units`, history/stored-columns.ts). At most `scale` decimals; a point
 * or a thousands separator is refused. Read exactly by common/decimal.ts, which bounds the
 * magnitude to 2^53 - 1 units, so the units are a safe integer (never -0).
 */
export function parseDecimal(text: string, scale: number): Parsed<number> {
  const parsed = parseExactDecimal(text, { scale });
  return parsed.ok ? { ok: true, value: Number(parsed.value.units) } : parsed;
}

/** `42` → 42; a whole number within JavaScript's safe range. */
export function parseInteger(text: string): Parsed<number> {
  if (!integerPattern.test(text)) return { ok: false, rule: 'not a whole number' };
  const value = Number(text);
  if (!Number.isSafeInteger(value)) return { ok: false, rule: 'number out of range' };
  return { ok: true, value };
}

/** `31/01/2026` → `2026-01-31`; refuses other formats and impossible dates (31/02). */
export function parseFrenchDate(text: string): Parsed<string> {
  const match = datePattern.exec(text);
  if (!match) return { ok: false, rule: 'date must be dd/mm/yyyy' };
  const [, dd, mm, yyyy] = match as unknown as [string, string, string, string];
  const iso = `${yyyy}-${mm}-${dd}`;
  const date = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== iso) return { ok: false, rule: 'no such calendar date' };
  return { ok: true, value: iso };
}

/** `2026-01-31` → `31/01/2026`: the inverse of parseFrenchDate. */
export function formatFrenchDate(iso: string): string {
  return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
}
