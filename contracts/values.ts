/**
 * Reading Sodiwin's field values: decimal comma, `dd/mm/yyyy` dates, whole numbers.
 * Pure, exact, and strict: anything ambiguous is refused with the rule it broke.
 */

import { decimalToNumber, parseDecimal as parseExactDecimal } from '../common/decimal.ts';

/** A parsed value, or the rule the text broke. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; rule: string };

const integerPattern = /^-?\d+$/;
const datePattern = /^(\d{2})\/(\d{2})\/(\d{4})$/;

/**
 * `1234,50` → 1234.5, at most `scale` decimals; a point or a thousands separator is refused.
 * Read exactly by common/decimal.ts, then given as the JS number the row carries (and D1
 * stores as a REAL): the double nearest the decimal, never -0.
 */
export function parseDecimal(text: string, scale: number): Parsed<number> {
  const parsed = parseExactDecimal(text, { scale });
  return parsed.ok ? { ok: true, value: decimalToNumber(parsed.value) } : parsed;
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
