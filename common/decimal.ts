/**
 * Money and quantities, exactly: a decimal amount is a whole number of units of 10^-scale
 * held as a bigint (123450n at scale 2 is 1234.50), so parsing, summing, comparing and
 * formatting never go through binary floating point. The one module for decimal amounts:
 * Sodiwin's fields, control totals, the parity gate and the generator's exports all use it.
 * Pure (no I/O, no clock), so workflows may use it too.
 *
 * Rounding happens in one place only: reading a JS number (what D1 answers for a REAL) at a
 * scale rounds to the nearest unit, half away from zero. Parsing never rounds (a field with
 * more decimals than its scale is refused) and sums are exact.
 */

/** An exact decimal: `units` × 10^-`scale`. */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

/** A decimal read from text or a number, or the rule it broke (the rule is what an error report shows). */
export type DecimalResult = { ok: true; value: Decimal } | { ok: false; rule: string };

/** The decimal separator: Sodiwin's files use a comma, the warehouse's own texts (control totals) a point. */
export type DecimalSeparator = ',' | '.';

/** How a text is read: at most `scale` decimals, after `decimalSeparator` (a comma unless said otherwise). */
export interface DecimalFormat {
  scale: number;
  decimalSeparator?: DecimalSeparator;
  /** Accept magnitudes beyond `maxUnits` (a sum kept as text, never bound to D1 as a number). */
  unbounded?: boolean;
}

/**
 * The largest magnitude in units, 2^53 - 1: every amount up to it is exact as a JS number of
 * units (and as a D1 INTEGER), so nothing beyond it is accepted.
 */
export const maxUnits = BigInt(Number.MAX_SAFE_INTEGER);

const patterns = {
  ',': { valid: /^(-?)(\d+)(?:,(\d+))?$/, other: /^-?\d+\.\d+$/, expected: 'decimal comma expected, found a point', example: '1234,50' },
  '.': { valid: /^(-?)(\d+)(?:\.(\d+))?$/, other: /^-?\d+,\d+$/, expected: 'decimal point expected, found a comma', example: '1234.50' },
} as const;

/**
 * `1234,50` at scale 2 → 123450n units. Digits with an optional sign and at most `scale`
 * decimals; a shorter fraction is padded (`12` → 12.00). Refused, with the rule: the other
 * separator, thousands separators, exponents, `+`, blanks, an empty text, too many decimals,
 * and (unless `unbounded`) a magnitude beyond `maxUnits`. `-0,00` is zero.
 */
export function parseDecimal(text: string, format: DecimalFormat): DecimalResult {
  const { scale, decimalSeparator = ',', unbounded = false } = format;
  const pattern = patterns[decimalSeparator];
  const match = pattern.valid.exec(text);
  if (!match) return { ok: false, rule: pattern.other.test(text) ? pattern.expected : `not a decimal number (expected e.g. ${pattern.example})` };
  const [, sign, whole = '', fraction = ''] = match;
  if (fraction.length > scale) return { ok: false, rule: `at most ${scale} decimals` };
  const magnitude = BigInt(whole + fraction.padEnd(scale, '0'));
  if (!unbounded && magnitude > maxUnits) return { ok: false, rule: 'number out of range' };
  return { ok: true, value: { units: sign === '-' ? -magnitude : magnitude, scale } };
}

/**
 * Units at a scale as text: 123450, 2 → `1234.50` (or `1234,50` with a comma); -5, 2 →
 * `-0.05`; scale 0 → plain digits. Always exactly `scale` decimals, so the text of an amount
 * is unique and two amounts at one scale are equal exactly when their texts are. Units may be
 * a bigint or a safe-integer number (the generator's cents); anything else is a RangeError.
 */
export function formatDecimal(units: bigint | number, scale: number, separator: DecimalSeparator = '.'): string {
  if (typeof units === 'number' && !Number.isSafeInteger(units)) throw new RangeError(`not a whole number of units: ${units}`);
  const negative = units < 0;
  const digits = String(negative ? -units : units);
  if (scale === 0) return `${negative ? '-' : ''}${digits}`;
  const padded = digits.padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -scale)}${separator}${padded.slice(-scale)}`;
}

/** A decimal as text at its own scale (see formatDecimal). */
export const decimalText = (value: Decimal, separator: DecimalSeparator = '.') => formatDecimal(value.units, value.scale, separator);

/** The same amount at a larger (or equal) scale: 12.5 at scale 3 is 12500n. Exact; never lowers a scale. */
export function rescale(value: Decimal, scale: number): Decimal {
  if (scale < value.scale) throw new RangeError(`cannot lower the scale of ${decimalText(value)} to ${scale} without rounding`);
  return { units: value.units * 10n ** BigInt(scale - value.scale), scale };
}

/** The exact sum, at the largest scale of its terms; an empty sum is zero at `scale` (0 unless said). */
export function sumDecimals(values: Iterable<Decimal>, scale = 0): Decimal {
  let total: Decimal = { units: 0n, scale };
  for (const value of values) {
    const common = Math.max(total.scale, value.scale);
    total = { units: rescale(total, common).units + rescale(value, common).units, scale: common };
  }
  return total;
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`; exact across scales (12.5 equals 12.50). */
export function compareDecimals(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const common = Math.max(a.scale, b.scale);
  const x = rescale(a, common).units;
  const y = rescale(b, common).units;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True when the two amounts are the same number, whatever their scales. */
export const equalDecimals = (a: Decimal, b: Decimal) => compareDecimals(a, b) === 0;

/**
 * The JS number nearest to the amount (12.5 for 1250n at scale 2): what the reader views
 * present (`<name>_units / 100.0`) and what the release before migration 0006 stored as a REAL. The same double as JavaScript's own parse of the decimal text. An
 * amount beyond `maxUnits` units is a RangeError: no number would stand for it faithfully.
 */
export function decimalToNumber(value: Decimal): number {
  if (value.units > maxUnits || -value.units > maxUnits) throw new RangeError(`${decimalText(value)} is beyond 2^53 units: not exact as a JS number`);
  const number = Number(decimalText(value));
  return Object.is(number, -0) ? 0 : number;
}

/**
 * A JS number (D1's answer for a presented decimal, `<name>_units / 100.0`, or an exact sum
 * of units divided once) as an amount at `scale`: the nearest unit, half away from zero. That
 * is exact for every number written from a decimal of at most 15 significant digits. Refused, with the
 * rule: a value that is not a finite number, and one beyond `maxUnits` units at that scale,
 * where a double no longer tells neighbouring units apart.
 */
export function decimalFromNumber(value: number, scale: number): DecimalResult {
  if (!Number.isFinite(value)) return { ok: false, rule: `not a finite number: ${value}` };
  if (Math.abs(value) * 10 ** scale > Number.MAX_SAFE_INTEGER) return { ok: false, rule: `${value} is beyond 2^53 units at scale ${scale}: a double cannot hold it exactly` };
  // toFixed rounds the double's exact binary value to the nearest unit (ties away from zero); below 1e21 it never uses an exponent.
  return parseDecimal(value.toFixed(scale), { scale, decimalSeparator: '.' });
}
