import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { Command } from 'commander';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerGenerate } from '../../client/commands/generate.ts';
import { tableContracts } from '../../contracts/index.ts';
import { exportFileName, type ColumnContract, type TableContract } from '../../contracts/types.ts';
import { addDays } from '../../generator/calendar.ts';
import { brandList, cities, companyName, depotList, ean13, eanCheckDigit, families, productLabel, regions, repPerson, streetAddress } from '../../generator/french.ts';
import { generateExports, type GenerateSummary } from '../../generator/index.ts';
import { Rng } from '../../generator/random.ts';
import { lineTotalCents } from '../../generator/sales.ts';
import { World } from '../../generator/world.ts';
import { keyDigest, keyString, readTruth, type DayTruth } from '../../generator/truth.ts';

const from = '2026-03-02';
const DAYS = 7;
const dates = Array.from({ length: DAYS }, (_, i) => addDays(from, i));

/** A parsed export: header, rows as source-name records. */
interface ParsedFile {
  text: string;
  header: string[];
  rows: string[][];
}

type Run = { dir: string; summary: GenerateSummary; files: Map<string, ParsedFile>; truths: DayTruth[] };

let root: string;
const runs: Record<string, Run> = {};

async function generate(name: string, seed: number): Promise<Run> {
  const dir = join(root, name);
  const summary = await generateExports({ outDir: dir, from, days: DAYS, scale: 1, seed });
  const files = new Map<string, ParsedFile>();
  for (const date of dates) {
    for (const contract of tableContracts) {
      const fileName = exportFileName(contract, date);
      const text = iconv.decode(await readFile(join(dir, fileName)), 'win1252');
      const [header, ...rows] = parse(text, { delimiter: ';', record_delimiter: '\r\n', relax_column_count: true }) as string[][];
      files.set(fileName, { text, header: header!, rows });
    }
  }
  const truths = await Promise.all(dates.map((d) => readTruth(dir, d)));
  return { dir, summary, files, truths };
}

const file = (run: Run, contract: TableContract, date: string) => run.files.get(exportFileName(contract, date))!;
const contractOf = (table: string) => tableContracts.find((c) => c.table === table)!;
const col = (contract: TableContract, name: string) => contract.columns.findIndex((c) => c.name === name);

/** `1234,50` at scale 2 → 123450n. */
function toUnits(text: string, scale: number): bigint {
  if (text === '') return 0n;
  const negative = text.startsWith('-');
  const [whole, fraction = ''] = text.replace('-', '').split(',');
  const units = BigInt(whole!) * 10n ** BigInt(scale) + BigInt(fraction.padEnd(scale, '0') || '0');
  return negative ? -units : units;
}

function formatUnits(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const body = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return (negative ? '-' : '') + body;
}

const scaleOf = (column: ColumnContract) => (column.type.kind === 'decimal' ? column.type.scale : 0);

/** The warehouse-typed row of the key columns, as the loader would store it. */
function typedKey(contract: TableContract, row: string[]): string {
  const record: Record<string, unknown> = {};
  for (const name of contract.key) {
    const i = col(contract, name);
    record[name] = contract.columns[i]!.type.kind === 'integer' ? Number(row[i]) : row[i];
  }
  return keyString(contract, record);
}

/** Checks one field against its column's contract; returns the broken rule or undefined. */
function violation(column: ColumnContract, value: string): string | undefined {
  if (value === '') return column.required ? 'required' : undefined;
  if (value !== value.trim()) return 'untrimmed';
  const type = column.type;
  switch (type.kind) {
    case 'text':
      return value.length > type.maxLength ? `longer than ${type.maxLength}` : undefined;
    case 'enum':
      return type.values.includes(value) ? undefined : 'not in enum';
    case 'integer':
      if (!/^-?\d+$/.test(value)) return 'not an integer';
      return type.min !== undefined && Number(value) < type.min ? 'below min' : undefined;
    case 'decimal': {
      const pattern = type.scale === 0 ? /^-?\d+$/ : new RegExp(`^-?\\d+,\\d{${type.scale}}$`);
      if (!pattern.test(value)) return `not a decimal with ${type.scale} digits`;
      if (/^-0+(,0+)?$/.test(value)) return 'negative zero';
      return type.min !== undefined && toUnits(value, type.scale) < BigInt(type.min) * 10n ** BigInt(type.scale) ? 'below min' : undefined;
    }
    case 'date': {
      const m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(value);
      if (!m) return 'not dd/mm/yyyy';
      const iso = `${m[3]}-${m[2]}-${m[1]}`;
      return new Date(`${iso}T00:00:00Z`).toISOString().startsWith(iso) ? undefined : 'no such date';
    }
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sodimo-generator-'));
  runs.a = await generate('a', 1);
  runs.b = await generate('b', 1);
  runs.c = await generate('c', 2);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function digests(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const sub of ['.', '.truth']) {
    for (const name of (await readdir(join(dir, sub), { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name)) {
      out[`${sub}/${name}`] = createHash('sha256').update(await readFile(join(dir, sub, name))).digest('hex');
    }
  }
  return out;
}

describe('generateExports: determinism', () => {
  it('writes byte-identical files for the same seed and different ones for another seed', async () => {
    const [a, b, c] = await Promise.all([digests(runs.a!.dir), digests(runs.b!.dir), digests(runs.c!.dir)]);
    expect(Object.keys(a)).toHaveLength(tableContracts.length * DAYS + DAYS);
    expect(b).toEqual(a);
    expect(Object.keys(c).sort()).toEqual(Object.keys(a).sort());
    const differing = Object.keys(a).filter((k) => a[k] !== c[k]);
    expect(differing.length).toBeGreaterThan(Object.keys(a).length / 2);
    expect(runs.a!.summary.orderLines).toBe(runs.a!.summary.rows.order_lines);
    expect(runs.a!.summary.orderLines).toBeGreaterThan(DAYS * 150);
  });
});

describe('generateExports: every file honours the Sodiwin dialect and its contract', () => {
  for (const name of ['a', 'c']) {
    it(`seed run ${name}: header, CRLF, field counts, values, keys, row counts and control totals`, () => {
      const run = runs[name]!;
      for (const [d, date] of dates.entries()) {
        const truth = run.truths[d]!;
        expect(truth.businessDate).toBe(date);
        for (const contract of tableContracts) {
          const parsed = file(run, contract, date);
          const where = `${exportFileName(contract, date)}`;
          expect(parsed.text.split('\r\n')[0], where).toBe(contract.columns.map((c) => c.source).join(';'));
          expect(parsed.text.endsWith('\r\n'), where).toBe(true);
          expect(/\r(?!\n)|(?<!\r)\n/.test(parsed.text), `${where}: a bare CR or LF`).toBe(false);
          const tableTruth = truth.tables[contract.table]!;
          expect(parsed.rows.length, where).toBe(tableTruth.fileRows);
          const keys = new Set<string>();
          const sums = contract.controlTotals.map(() => 0n);
          for (const row of parsed.rows) {
            expect(row.length, where).toBe(contract.columns.length);
            for (const [i, column] of contract.columns.entries()) {
              const broken = violation(column, row[i]!);
              if (broken) expect.fail(`${where}: ${column.source}="${row[i]}" ${broken}`);
            }
            keys.add(typedKey(contract, row));
            for (const [n, total] of contract.controlTotals.entries()) {
              const i = col(contract, total);
              sums[n]! += toUnits(row[i]!, scaleOf(contract.columns[i]!));
            }
          }
          expect(keys.size, `${where}: unique keys`).toBe(parsed.rows.length);
          const expected = Object.fromEntries(contract.controlTotals.map((t, n) => [t, formatUnits(sums[n]!, scaleOf(contract.columns[col(contract, t)]!))]));
          expect(tableTruth.fileTotals, where).toEqual(expected);
        }
      }
    });
  }

  it('carries accents, €/œ/’ and quoted fields holding ; and "', () => {
    const texts = [...runs.a!.files.values()].map((f) => f.text).join('');
    const fields = [...runs.a!.files.values()].flatMap((f) => f.rows.flat());
    expect(fields.some((f) => /[éèêàâçîïôûùëü]/i.test(f))).toBe(true);
    expect(fields.some((f) => /[€œ’]/.test(f))).toBe(true);
    expect(fields.some((f) => f.includes(';') && f.includes('"'))).toBe(true);
    expect(texts).toMatch(/;"[^"\r\n]*""[^\r\n]*;[^\r\n]*"(;|\r\n)/);
  });

  it('uses only characters that survive a Windows-1252 round trip', () => {
    const rng = new Rng(42);
    const samples = [
      ...cities.flatMap((c) => [c.name, c.postalCode]),
      ...depotList.flatMap((d) => [d.name, d.city]),
      ...brandList.map((b) => b.name),
      ...regions,
      ...families.flatMap((f) => [f.name, ...f.labels]),
    ];
    for (let i = 0; i < 3000; i++) {
      const family = rng.pick(families);
      const person = repPerson(rng);
      samples.push(companyName(rng), companyName(rng, true), streetAddress(rng), productLabel(rng, family), person.name, person.email ?? '');
    }
    for (const text of samples) expect(iconv.decode(iconv.encode(text, 'win1252'), 'win1252')).toBe(text);
    expect(samples.join('')).toMatch(/[€œ’°½ÿ]/);
  });
});

describe('generateExports: business rules', () => {
  it('keeps amounts consistent: line totals, order totals, invoice VAT and totals, EAN check digits', () => {
    const run = runs.a!;
    const ol = contractOf('order_lines');
    const orders = contractOf('orders');
    const invoices = contractOf('invoices');
    const products = contractOf('products');
    for (const date of dates) {
      const lineSums = new Map<string, bigint>();
      for (const row of file(run, ol, date).rows) {
        const [orderNo, , , qty, price, discount, total] = row as [string, string, string, string, string, string, string];
        expect(BigInt(lineTotalCents(Number(toUnits(qty, 3)), Number(toUnits(price, 2)), Number(toUnits(discount, 2))))).toBe(toUnits(total, 2));
        lineSums.set(orderNo, (lineSums.get(orderNo) ?? 0n) + toUnits(total, 2));
      }
      for (const row of file(run, orders, date).rows) {
        if (lineSums.has(row[0]!)) expect(toUnits(row[col(orders, 'total_excl_tax')]!, 2), row[0]).toBe(lineSums.get(row[0]!));
      }
      for (const row of file(run, invoices, date).rows) {
        const [ht, vat, ttc] = ['total_excl_tax', 'vat_amount', 'total_incl_tax'].map((c) => toUnits(row[col(invoices, c)]!, 2)) as [bigint, bigint, bigint];
        expect(ht + vat).toBe(ttc);
        if (row[1] === 'AVOIR') expect(ht < 0n && vat <= 0n).toBe(true);
        else expect(ht > 0n && vat > 0n).toBe(true);
      }
      for (const row of file(run, products, date).rows) {
        const ean = row[col(products, 'ean')]!;
        if (ean) expect(eanCheckDigit(ean.slice(0, 12))).toBe(ean[12]);
      }
    }
    expect(eanCheckDigit('400638133393')).toBe('1');
    expect(ean13(new Rng(3))).toMatch(/^3\d{12}$/);
  });

  it('references what exists: order lines → orders of the same or an earlier day, orders → customers of that day', () => {
    for (const run of [runs.a!, runs.c!]) {
      const seenOrders = new Set<string>();
      for (const date of dates) {
        const customers = new Set(file(run, contractOf('customers'), date).rows.map((r) => r[0]!));
        for (const row of file(run, contractOf('orders'), date).rows) {
          seenOrders.add(row[0]!);
          expect(customers.has(row[1]!), `${row[0]} on ${date}: customer ${row[1]}`).toBe(true);
        }
        for (const row of file(run, contractOf('order_lines'), date).rows) expect(seenOrders.has(row[0]!), `line of ${row[0]} on ${date}`).toBe(true);
        const products = new Set(file(run, contractOf('products'), date).rows.map((r) => r[0]!));
        for (const row of file(run, contractOf('price_lists'), date).rows) expect(products.has(row[1]!)).toBe(true);
        for (const row of file(run, contractOf('stock'), date).rows) expect(products.has(row[1]!)).toBe(true);
        const invoices = new Set<string>();
        for (const d of dates.filter((x) => x <= date)) for (const row of file(run, contractOf('invoices'), d).rows) invoices.add(row[0]!);
        for (const row of file(run, contractOf('receivables'), date).rows) {
          expect(invoices.has(row[0]!)).toBe(true);
          const [due, open] = [toUnits(row[4]!, 2), toUnits(row[5]!, 2)];
          expect(open > 0n && open <= due).toBe(true);
        }
      }
    }
  });

  it('records the warehouse current state: full = the day file, delta = latest version of every key so far', () => {
    for (const run of [runs.a!, runs.c!]) {
      const state = new Map<string, Map<string, string[]>>();
      for (const [d, date] of dates.entries()) {
        for (const contract of tableContracts) {
          const rows = file(run, contract, date).rows;
          let current = state.get(contract.table) ?? new Map<string, string[]>();
          if (contract.mode === 'full') current = new Map();
          for (const row of rows) current.set(typedKey(contract, row), row);
          state.set(contract.table, current);
          const totals = Object.fromEntries(
            contract.controlTotals.map((t) => {
              const i = col(contract, t);
              const scale = scaleOf(contract.columns[i]!);
              let sum = 0n;
              for (const row of current.values()) sum += toUnits(row[i]!, scale);
              return [t, formatUnits(sum, scale)];
            }),
          );
          expect(run.truths[d]!.tables[contract.table]!.current, `${contract.table} after ${date}`).toEqual({ rows: current.size, keyDigest: keyDigest([...current.keys()]), totals });
        }
      }
    }
  });

  it('guarantees each kind of event after the first day, as the files show it, for two seeds', () => {
    for (const run of [runs.a!, runs.c!]) {
      const events = run.truths.at(-1)!.events;
      for (const [d, truth] of run.truths.entries()) expect(truth.events).toEqual(events.filter((e) => e.date <= dates[d]!));
      expect(events.map((e) => e.date)).toEqual(events.map((e) => e.date).sort());
      for (const type of ['price_list_changed', 'order_cancelled', 'customer_deleted', 'product_discontinued']) {
        expect(events.filter((e) => e.type === type && e.date > from).length, type).toBeGreaterThan(0);
      }
      const customers = contractOf('customers');
      const byCode = (date: string, contract: TableContract) => new Map(file(run, contract, date).rows.map((r) => [r[0]!, r]));
      for (const event of events) {
        expect(event.date > from).toBe(true);
        const before = addDays(event.date, -1);
        switch (event.type) {
          case 'price_list_changed': {
            const list = col(customers, 'price_list_code');
            expect(byCode(before, customers).get(event.customer_code)?.[list]).toBe(event.from);
            expect(byCode(event.date, customers).get(event.customer_code)?.[list]).toBe(event.to);
            expect(event.from).not.toBe(event.to);
            expect(events.some((e) => e.type === 'customer_deleted' && e.customer_code === event.customer_code && e.date === event.date)).toBe(false);
            break;
          }
          case 'customer_deleted':
            expect(byCode(before, customers).has(event.customer_code)).toBe(true);
            expect(byCode(event.date, customers).has(event.customer_code)).toBe(false);
            for (const date of dates.filter((x) => x > event.date)) expect(byCode(date, customers).has(event.customer_code)).toBe(false);
            break;
          case 'product_discontinued': {
            const products = contractOf('products');
            const status = col(products, 'status');
            expect(byCode(before, products).get(event.product_code)?.[status]).toBe('ACTIF');
            expect(byCode(event.date, products).get(event.product_code)?.[status]).toBe('ARRETE');
            break;
          }
          case 'order_cancelled': {
            const orders = contractOf('orders');
            const status = col(orders, 'status');
            const earlier = dates.filter((x) => x < event.date).flatMap((x) => file(run, orders, x).rows.filter((r) => r[0] === event.order_no));
            expect(earlier.length, event.order_no).toBeGreaterThan(0);
            expect(earlier.at(-1)![status]).toBe(event.previous_status);
            expect(byCode(event.date, orders).get(event.order_no)?.[status]).toBe('ANNULEE');
            break;
          }
        }
      }
    }
  });
});

describe('the simulated company over years', () => {
  it('keeps its catalogue at 90% of the opening range or more, so sales do not dry up', () => {
    const world = new World({ seed: 2, scale: 1, from: '2019-01-01' });
    const opening = world.reference.activeProducts().length;
    const linesPerYear: number[] = [];
    for (let day = 0; day < 3 * 365; day++) {
      world.step(addDays('2019-01-01', day), day);
      const year = Math.floor(day / 365);
      linesPerYear[year] = (linesPerYear[year] ?? 0) + [...world.rows('order_lines').rows].length;
      expect(world.reference.activeProducts().length).toBeGreaterThanOrEqual(Math.round(0.9 * opening));
    }
    // 60 orders a day of 1 to 8 distinct products: about 270 lines a day, every year.
    for (const lines of linesPerYear) expect(lines).toBeGreaterThan(200 * 365);
  });
});

describe('warehouse generate (CLI)', () => {
  const cli = async (...args: string[]) => {
    const program = new Command('warehouse').exitOverride();
    registerGenerate(program, () => {
      throw new Error('generate needs no configuration');
    });
    await program.parseAsync(['node', 'warehouse', 'generate', ...args]);
  };

  it('refuses bad options with one clear line', async () => {
    const out = join(root, 'cli');
    await expect(cli('--out', out, '--from', '2026-02-31', '--days', '1')).rejects.toThrow('--from must be a real date as YYYY-MM-DD, got "2026-02-31"');
    await expect(cli('--out', out, '--from', from, '--days', '0')).rejects.toThrow('--days must be a positive whole number, got "0"');
    await expect(cli('--out', out, '--from', from, '--days', '2', '--scale', '-1')).rejects.toThrow('--scale must be a positive number');
    await expect(cli('--out', out, '--from', from, '--days', '2', '--seed', 'x')).rejects.toThrow('--seed must be a whole number');
  });

  it('writes the files and says so', async () => {
    const out = join(root, 'cli');
    const logged: string[] = [];
    const original = console.log;
    console.log = (text: string) => void logged.push(text);
    try {
      await cli('--out', out, '--from', from, '--days', '1', '--scale', '0.5', '--seed', '3');
    } finally {
      console.log = original;
    }
    expect(logged.join('\n')).toMatch(/generated 13 files/);
    expect(logged.join('\n')).toMatch(/order_lines/);
    expect((await readdir(out)).filter((f) => f.endsWith('.csv'))).toHaveLength(13);
    expect((await readTruth(out, from)).businessDate).toBe(from);
  });
});
