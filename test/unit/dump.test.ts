import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractFor, tableContracts } from '../../contracts/index.ts';
import { dumpManifestName, generateDump, type DumpSummary } from '../../generator/dump.ts';
import { generateExports } from '../../generator/index.ts';
import { keyDigest, readTruth } from '../../generator/truth.ts';

const [from, to] = ['2025-01-01', '2025-02-14'];

/** The data lines of a Windows-1252 export, split on `;` (the generator quotes no field in these columns). */
async function dataRows(path: string): Promise<string[][]> {
  const [, ...lines] = iconv.decode(await readFile(path), 'win1252').split('\r\n').filter(Boolean);
  return lines.map((l) => l.split(';'));
}

describe("generateDump: Sodiwin's historical dump as of a date", () => {
  let dir: string;
  let dump: DumpSummary;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sodimo-dump-'));
    dump = await generateDump({ outDir: join(dir, 'dump'), from, to, scale: 0.3, seed: 3, partRows: 500 });
    // The same company, day by day: its last day's truth is what the dump must hold.
    await generateExports({ outDir: join(dir, 'daily'), from, days: dump.days, scale: 0.3, seed: 3 });
  }, 120_000);
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('writes several files per large table, each listed in the manifest with its rows and sha256', async () => {
    const files = (await readdir(join(dir, 'dump'))).filter((f) => f.endsWith('.csv')).sort();
    expect(files).toContain(dumpManifestName(to));
    const manifest = iconv.decode(await readFile(join(dir, 'dump', dumpManifestName(to))), 'win1252').split('\r\n').filter(Boolean);
    expect(manifest[0]).toBe('FICHIER;TABLE;NB_LIGNES;SHA256;DATE_ARRETE');
    const listed = manifest.slice(1).map((l) => l.split(';'));
    expect(listed.map((l) => l[0]).sort()).toEqual(files.filter((f) => f !== dumpManifestName(to)));
    for (const [file, table, rows, sha256, asOf] of listed) {
      const bytes = await readFile(join(dir, 'dump', file!));
      expect(createHash('sha256').update(bytes).digest('hex'), file).toBe(sha256);
      expect((await dataRows(join(dir, 'dump', file!))).length, file).toBe(Number(rows));
      expect(Number(rows)).toBeLessThanOrEqual(500);
      expect(file!.startsWith(contractFor(table!).filePattern.split('{')[0]!)).toBe(true);
      expect(asOf).toBe('14/02/2025');
    }
    expect(listed.filter((l) => l[1] === 'order_lines').length).toBeGreaterThan(1);
    expect(listed.find((l) => l[0] === 'COMMANDES_20250214_P001.csv')).toBeDefined();
  });

  it("holds, for every table, exactly the keys the day-by-day exports leave current on the as-of date", async () => {
    const daily = await readTruth(join(dir, 'daily'), to);
    for (const contract of tableContracts) {
      const keyColumns = contract.key.map((k) => contract.columns.findIndex((c) => c.name === k));
      const keys: string[] = [];
      for (const file of dump.files.filter((f) => f.table === contract.table)) {
        for (const fields of await dataRows(join(dir, 'dump', file.file))) keys.push(keyColumns.map((i) => fields[i]).join('|'));
      }
      expect(new Set(keys).size, contract.table).toBe(keys.length);
      expect(keys.length, contract.table).toBe(daily.tables[contract.table]!.current.rows);
      expect(keyDigest(keys), contract.table).toBe(daily.tables[contract.table]!.current.keyDigest);
      // A full table's dump is that day's snapshot: its totals too (delta totals count first versions only).
      if (contract.mode === 'full') expect(dump.truth.tables[contract.table]!.current.totals, contract.table).toEqual(daily.tables[contract.table]!.current.totals);
    }
  });

  it('gives each order its final state: a cancelled order is in the dump as cancelled', async () => {
    const cancelled = dump.truth.events.filter((e) => e.type === 'order_cancelled').map((e) => (e as { order_no: string }).order_no);
    expect(cancelled.length).toBeGreaterThan(0);
    const orders = (await Promise.all(dump.files.filter((f) => f.table === 'orders').map((f) => dataRows(join(dir, 'dump', f.file))))).flat();
    const status = new Map(orders.map((o) => [o[0], o[5]]));
    for (const orderNo of cancelled) expect(status.get(orderNo), orderNo).toBe('ANNULEE');
  });
});
