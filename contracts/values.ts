/**
 * Reading Sodiwin's field values: decimal comma, `dd/mm/yyyy` dates, whole numbers.
 * Pure, exact, and strict: anything ambiguous is refused with the rule it broke.
 */

/** A parsed value, or the rule the text broke. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; rule: string };

const decimalPattern = /^(-?)(\d+)(?:,(\d+))?$/;
const integerPattern = /^-?\d+$/;
const datePattern = /^(\d{2})\/(\d{2})\/(\d{4})$/;

/** `1234,50` → 1234.5, at most `scale` decimals; a point or a thousands separator is refused. */
export function parseDecimal(text: string, scale: number): Parsed<number> {
  const match = decimalPattern.exec(text);
  if (!match) {
    const rule = /^-?\d+\.\d+$/.test(text) ? 'decimal comma expected, found a point' : 'not a decimal number (expected e.g. 1234,50)';
    return { ok: false, rule };
  }
  const decimals = match[3] ?? '';
  if (decimals.length > scale) return { ok: false, rule: `at most ${scale} decimals` };
  const value = Number(`${match[1]}${match[2]}.${decimals || '0'}`);
  if (!Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER / 10 ** scale) return { ok: false, rule: 'number out of range' };
  return { ok: true, value: Object.is(value, -0) ? 0 : value };
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

/** 1234.5, 2 → `1234,50`: the inverse of parseDecimal, for writing exports. */
export function formatDecimal(value: number, scale: number): string {
  return value.toFixed(scale).replace('.', ',');
}

/** `2026-01-31` → `31/01/2026`: the inverse of parseFrenchDate. */
export function formatFrenchDate(iso: string): string {
  return `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;
}
