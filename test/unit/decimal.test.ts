import { describe, expect, it } from 'vitest';
import {
  compareDecimals,
  decimalFromNumber,
  decimalText,
  decimalToNumber,
  equalDecimals,
  formatDecimal,
  maxUnits,
  parseDecimal,
  sumDecimals,
  type Decimal,
  type DecimalSeparator,
} from '../../common/decimal.ts';

/** mulberry32: a seeded stream, so a failing case is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random decimal as Sodiwin might write it: sign, 1–22 digits (leading zeros now and then), 0–scale decimals. */
interface Sample {
  text: string;
  sign: '' | '-';
  whole: string;
  fraction: string;
  scale: number;
  separator: DecimalSeparator;
}

function sample(random: () => number, options: { maxWholeDigits: number }): Sample {
  const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(random() * 10))).join('');
  const scale = Math.floor(random() * 5);
  const sign = random() < 0.4 ? '-' : '';
  const wholeDigits = 1 + Math.floor(random() ** 2 * options.maxWholeDigits);
  const whole = (random() < 0.1 ? '00' : '') + digits(wholeDigits);
  const fraction = digits(Math.floor(random() * (scale + 1)));
  const separator: DecimalSeparator = random() < 0.7 ? ',' : '.';
  return { text: `${sign}${whole}${fraction ? separator + fraction : ''}`, sign, whole, fraction, scale, separator };
}

// The reference, written out here with plain strings and BigInt, independently of common/decimal.ts.
const referenceUnits = (s: Sample) => BigInt(`${s.sign}${s.whole}${s.fraction.padEnd(s.scale, '0')}`);
function referenceText(units: bigint, scale: number, separator: string): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${scale === 0 ? digits : `${digits.slice(0, -scale)}${separator}${digits.slice(-scale)}`}`;
}
const abs = (n: bigint) => (n < 0n ? -n : n);

describe('parseDecimal and formatDecimal: exact, over random decimal strings', () => {
  it('round-trips every value up to 22 digits exactly (unbounded), and refuses beyond 2^53 units by default', () => {
    const random = seeded(14);
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const s = sample(random, { maxWholeDigits: 22 });
      const units = referenceUnits(s);
      const parsed = parseDecimal(s.text, { scale: s.scale, decimalSeparator: s.separator, unbounded: true });
      expect(parsed, s.text).toEqual({ ok: true, value: { units, scale: s.scale } });
      if (!parsed.ok) continue;
      expect(formatDecimal(parsed.value.units, s.scale, s.separator), s.text).toBe(referenceText(units, s.scale, s.separator));
      // The canonical text reads back to the same amount.
      expect(parseDecimal(decimalText(parsed.value, s.separator), { scale: s.scale, decimalSeparator: s.separator, unbounded: true }), s.text).toEqual(parsed);

      const bounded = parseDecimal(s.text, { scale: s.scale, decimalSeparator: s.separator });
      if (abs(units) > 9007199254740991n) {
        refused++;
        expect(bounded, s.text).toEqual({ ok: false, rule: 'number out of range' });
      } else expect(bounded, s.text).toEqual(parsed);
    }
    expect(refused, 'the samples reach beyond 2^53 units').toBeGreaterThan(100);
  });

  it('sums any number of amounts of mixed scales exactly, matching a BigInt reference', () => {
    const random = seeded(1414);
    for (let round = 0; round < 300; round++) {
      const samples = Array.from({ length: 1 + Math.floor(random() * 40) }, () => sample(random, { maxWholeDigits: 18 }));
      const values = samples.map((s) => {
        const parsed = parseDecimal(s.text, { scale: s.scale, decimalSeparator: s.separator, unbounded: true });
        if (!parsed.ok) throw new Error(`${s.text}: ${parsed.rule}`);
        return parsed.value;
      });
      const scale = Math.max(...samples.map((s) => s.scale));
      const expected = samples.reduce((sum, s) => sum + referenceUnits(s) * 10n ** BigInt(scale - s.scale), 0n);
      const total = sumDecimals(values);
      expect(total, samples.map((s) => s.text).join(' + ')).toEqual({ units: expected, scale });
      expect(decimalText(total)).toBe(referenceText(expected, scale, '.'));
    }
  });

  it('compares exactly across scales, and agrees with the BigInt reference order', () => {
    const random = seeded(7);
    for (let i = 0; i < 2000; i++) {
      const [a, b] = [sample(random, { maxWholeDigits: 20 }), sample(random, { maxWholeDigits: 20 })];
      const scale = Math.max(a.scale, b.scale);
      const x = referenceUnits(a) * 10n ** BigInt(scale - a.scale);
      const y = referenceUnits(b) * 10n ** BigInt(scale - b.scale);
      const da: Decimal = { units: referenceUnits(a), scale: a.scale };
      const db: Decimal = { units: referenceUnits(b), scale: b.scale };
      expect(compareDecimals(da, db), `${a.text} vs ${b.text}`).toBe(x < y ? -1 : x > y ? 1 : 0);
    }
    expect(equalDecimals({ units: 125n, scale: 1 }, { units: 12500n, scale: 3 })).toBe(true);
    expect(equalDecimals({ units: 125n, scale: 1 }, { units: 12501n, scale: 3 })).toBe(false);
    expect(compareDecimals({ units: -1n, scale: 2 }, { units: 0n, scale: 0 })).toBe(-1);
  });

  it('gives the same JS number as reading the decimal text, which D1 stores today', () => {
    const random = seeded(99);
    for (let i = 0; i < 3000; i++) {
      const s = sample(random, { maxWholeDigits: 15 });
      const parsed = parseDecimal(s.text, { scale: s.scale, decimalSeparator: s.separator });
      if (!parsed.ok) continue;
      const expected = Number(`${s.sign}${s.whole}.${s.fraction || '0'}`);
      expect(decimalToNumber(parsed.value), s.text).toBe(Object.is(expected, -0) ? 0 : expected);
    }
    expect(decimalToNumber({ units: -maxUnits, scale: 0 })).toBe(-Number.MAX_SAFE_INTEGER);
    expect(() => decimalToNumber({ units: maxUnits + 1n, scale: 2 })).toThrow(RangeError);
    expect(() => decimalToNumber({ units: -maxUnits - 1n, scale: 0 })).toThrow(RangeError);
  });

  it('reads back exactly every number written from a decimal of at most 15 significant digits', () => {
    const random = seeded(2026);
    for (let i = 0; i < 5000; i++) {
      const s = sample(random, { maxWholeDigits: 15 - 4 });
      const units = referenceUnits(s);
      const number = Number(referenceText(units, s.scale, '.'));
      expect(decimalFromNumber(number, s.scale), s.text).toEqual({ ok: true, value: { units, scale: s.scale } });
    }
  });
});

describe('parseDecimal: the edge cases Sodiwin can send', () => {
  const comma = (text: string, scale = 2) => parseDecimal(text, { scale });

  it('reads zero, a minus zero, leading zeros and a missing fraction', () => {
    expect(comma('-0,00')).toEqual({ ok: true, value: { units: 0n, scale: 2 } });
    expect(decimalText({ units: 0n, scale: 2 })).toBe('0.00');
    expect(comma('-0')).toEqual({ ok: true, value: { units: 0n, scale: 2 } });
    expect(comma('007,5')).toEqual({ ok: true, value: { units: 750n, scale: 2 } });
    expect(comma('12')).toEqual({ ok: true, value: { units: 1200n, scale: 2 } });
    expect(comma('-1234,56')).toEqual({ ok: true, value: { units: -123456n, scale: 2 } });
    expect(comma('42', 0)).toEqual({ ok: true, value: { units: 42n, scale: 0 } });
  });

  it('refuses too many decimals, naming the scale', () => {
    expect(comma('1,234')).toEqual({ ok: false, rule: 'at most 2 decimals' });
    expect(comma('1,5', 0)).toEqual({ ok: false, rule: 'at most 0 decimals' });
    expect(comma('0,00001', 4)).toEqual({ ok: false, rule: 'at most 4 decimals' });
  });

  it('refuses the other separator with the rule validate reports', () => {
    expect(comma('12.50')).toEqual({ ok: false, rule: 'decimal comma expected, found a point' });
    expect(parseDecimal('12,50', { scale: 2, decimalSeparator: '.' })).toEqual({ ok: false, rule: 'decimal point expected, found a comma' });
    expect(parseDecimal('12.50', { scale: 2, decimalSeparator: '.' })).toEqual({ ok: true, value: { units: 1250n, scale: 2 } });
  });

  it('refuses exponents, thousands separators, signs and blanks, empty text and half numbers', () => {
    for (const text of ['1e5', '1E5', '1,5e2', '-2e-3', 'Infinity', 'NaN', '0x10', '1 234,50', '1.234,50', '1_000', '+12', ' 12', '12 ', '', '-', ',5', '5,', '--5', '١٢']) {
      expect(comma(text), JSON.stringify(text)).toEqual({ ok: false, rule: 'not a decimal number (expected e.g. 1234,50)' });
    }
  });

  it('holds 2^53 - 1 units and refuses one more', () => {
    expect(comma('90071992547409,91')).toEqual({ ok: true, value: { units: maxUnits, scale: 2 } });
    expect(comma('-90071992547409,91')).toEqual({ ok: true, value: { units: -maxUnits, scale: 2 } });
    expect(comma('90071992547409,92')).toEqual({ ok: false, rule: 'number out of range' });
    expect(comma('99999999999999999999', 0)).toEqual({ ok: false, rule: 'number out of range' });
  });
});

describe('formatDecimal', () => {
  it('writes exactly `scale` decimals with the separator asked for', () => {
    expect(formatDecimal(123450, 2, ',')).toBe('1234,50');
    expect(formatDecimal(-5, 2, ',')).toBe('-0,05');
    expect(formatDecimal(-1200, 2)).toBe('-12.00');
    expect(formatDecimal(7n, 0)).toBe('7');
    expect(formatDecimal(1n, 3)).toBe('0.001');
    expect(formatDecimal(-0, 2)).toBe('0.00');
    expect(formatDecimal(123456789012345678901234567890n, 4)).toBe('12345678901234567890123456.7890');
  });

  it('refuses a number of units that is not a safe whole number', () => {
    expect(() => formatDecimal(12.5, 2)).toThrow(RangeError);
    expect(() => formatDecimal(2 ** 53, 2)).toThrow(RangeError);
    expect(() => formatDecimal(Number.NaN, 2)).toThrow(RangeError);
  });
});

describe('decimalFromNumber: what D1 answers, at a scale', () => {
  it('rounds a binary sum to the nearest unit, half away from zero', () => {
    expect(decimalFromNumber(0.1 + 0.2, 2)).toEqual({ ok: true, value: { units: 30n, scale: 2 } });
    expect(decimalFromNumber(1234.5, 2)).toEqual({ ok: true, value: { units: 123450n, scale: 2 } });
    expect(decimalFromNumber(-0.001, 2)).toEqual({ ok: true, value: { units: 0n, scale: 2 } });
    expect(decimalFromNumber(0.125, 2)).toEqual({ ok: true, value: { units: 13n, scale: 2 } });
    expect(decimalFromNumber(-0.125, 2)).toEqual({ ok: true, value: { units: -13n, scale: 2 } });
    expect(decimalFromNumber(2.5, 0)).toEqual({ ok: true, value: { units: 3n, scale: 0 } });
  });

  it('refuses what is not a finite number or lies beyond 2^53 units', () => {
    expect(decimalFromNumber(Number.NaN, 2)).toMatchObject({ ok: false, rule: expect.stringContaining('not a finite number') });
    expect(decimalFromNumber(Number.POSITIVE_INFINITY, 0)).toMatchObject({ ok: false });
    expect(decimalFromNumber(Number.MAX_SAFE_INTEGER, 0)).toEqual({ ok: true, value: { units: maxUnits, scale: 0 } });
    expect(decimalFromNumber(2 ** 53, 0)).toMatchObject({ ok: false, rule: expect.stringContaining('beyond 2^53 units') });
    expect(decimalFromNumber(1e14, 2)).toMatchObject({ ok: false, rule: expect.stringContaining('beyond 2^53 units at scale 2') });
  });
});

describe('sumDecimals', () => {
  it('is zero at the given scale for no terms, and exact past 2^53', () => {
    expect(sumDecimals([], 2)).toEqual({ units: 0n, scale: 2 });
    expect(decimalText(sumDecimals([{ units: maxUnits, scale: 2 }, { units: maxUnits, scale: 2 }, { units: 1n, scale: 3 }]))).toBe('180143985094819.821');
  });
});
