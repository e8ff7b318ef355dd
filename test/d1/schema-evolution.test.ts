import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanExport } from '../../activities/export-reader.ts';
import { rowHash } from '../../activities/row-hash.ts';
import { applyMigrations } from '../../activities/schema.ts';
import { decimal, text } from '../../contracts/columns.ts';
import { tableContracts } from '../../contracts/index.ts';
import type { NormalisedRow } from '../../contracts/row-schema.ts';
import { sodiwinDialect, type TableContract } from '../../contracts/types.ts';
import { createD1Client, type D1Client } from '../../d1/client.ts';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';
import { packInserts } from '../../d1/pack.ts';
import { historyDdl, stageTable } from '../../history/ddl.ts';
import { scd2MergeStatements } from '../../history/merge.ts';
import { storedColumns } from '../../history/stored-columns.ts';
import { warehouseViews } from '../../history/views.ts';
import { tableChecksum } from '../../client/checksum.ts';

/**
 * Schema evolution on the local D1 service: a view whose SQL changed, a contract that gains a
 * column, renames a header or loses a column. The contract under test is a table of its own
 * (`sites`), passed to migrate beside the default contract, as an edit of contracts/ would.
 */

const sites = (columns: TableContract['columns']): TableContract => ({
  table: 'sites', description: 'test sites', filePattern: 'SITES_{yyyymmdd}.csv', mode: 'full', key: ['site_code'], columns, controlTotals: [],
});
const v1 = sites([text('CODE_SITE', 'site_code', 6, 'code'), text('NOM', 'name', 40, 'name')]);
const v2 = sites([...v1.columns, text('TELEPHONE', 'phone', 20, 'phone', { optional: true, addedIn: '2027-01' })]);
const v3 = sites([v2.columns[0]!, text('LIBELLE', 'name', 40, 'name', { previousSources: ['NOM'] }), v2.columns[2]!]);
const plots = (area: TableContract['columns'][number]): TableContract => ({
  table: 'plots', description: 'test plots', filePattern: 'PLOTS_{yyyymmdd}.csv', mode: 'full', key: ['plot_code'], columns: [text('CODE_PARCELLE', 'plot_code', 6, 'code'), area], controlTotals: ['area'],
});
const p1 = plots(decimal('SURFACE', 'area', 2, 'm²'));
const p2 = plots({ ...decimal('SURFACE', 'area', 3, 'm²'), type: { kind: 'decimal', scale: 3, hashScale: 2 } });

describe('schema evolution at migrate', () => {
  let service: LocalD1Service;
  let dir: string;
  let d1: D1Client;
  const migrate = (contract: TableContract, options: { dryRun?: boolean } = {}) => applyMigrations(d1, { ...options, contracts: [...tableContracts, contract] });

  /** Sodiwin's file for the night, read by the real export reader (header check included), staged and merged as stage and publish do. */
  async function night(contract: TableContract, businessDate: string, lines: string[]) {
    const file = join(dir, `${contract.table.toUpperCase()}_${businessDate.replaceAll('-', '')}.csv`);
    await writeFile(file, [...lines, ''].join('\r\n'), 'latin1');
    const rows: { line: number; row: NormalisedRow }[] = [];
    const scan = await scanExport({ path: file, contract, dialect: sodiwinDialect, businessDate, onRow: (row, line) => void rows.push({ row, line }) });
    expect(scan.rowsRejected).toBe(0);
    const loadId = `${businessDate}_${contract.table}`;
    await d1.batch(historyDdl(contract).map((sql) => ({ sql })));
    const columns = ['_load_id', '_line', ...storedColumns(contract), '_row_hash'];
    const values = rows.map(({ row, line }) => [loadId, line, ...contract.columns.map((c) => row[c.name] ?? null), rowHash(contract, row)]);
    await d1.query(`DELETE FROM "${stageTable(contract)}" WHERE _load_id = ?`, [loadId]); // as stage does on a fresh attempt
    await d1.batch(packInserts({ table: stageTable(contract), columns, rows: values, mode: 'literal' }));
    const merge = scd2MergeStatements({ contract, loadId, businessDate });
    const results = await d1.batch(merge);
    return merge.reduce((n, s, i) => n + (s.effect === 'inserted' ? (results[i]?.meta.changes ?? 0) : 0), 0);
  }
  const versions = async () => (await d1.query<Record<string, unknown> & { _valid_from: string }>(`SELECT * FROM sites ORDER BY site_code, _valid_from`))[0]?.results.map(({ _version_id: _, ...v }) => v) ?? [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sodimo-evolution-'));
    service = await startLocalD1Service({ dataDir: join(dir, 'd1'), apiToken: randomBytes(8).toString('hex') });
    d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken });
    await migrate(v1);
  });
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("A view's SQL changes: after migrate the new SQL is live (a dry run lists it first); the code's SQL comes back the same way", async () => {
    await d1.query("INSERT INTO etl_watermarks (table_name, business_date, load_id, updated_at) VALUES ('orders', '2026-03-01', 'l1', 'now')");
    const edited = warehouseViews([...tableContracts, v1]).map((view) =>
      view.name === 'v_watermark_lag' ? { ...view, sql: "SELECT w.table_name, w.business_date AS loaded_through, 'edited' AS note FROM etl_watermarks w" } : view);
    expect((await applyMigrations(d1, { contracts: [...tableContracts, v1], views: edited, dryRun: true })).views).toEqual({ created: [], replaced: ['v_watermark_lag'] });
    expect((await d1.query('SELECT * FROM v_watermark_lag'))[0]?.results).toEqual([{ table_name: 'orders', loaded_through: '2026-03-01', latest_run_date: null, lag_days: null }]);
    expect((await applyMigrations(d1, { contracts: [...tableContracts, v1], views: edited })).views).toEqual({ created: [], replaced: ['v_watermark_lag'] });
    expect((await d1.query('SELECT * FROM v_watermark_lag'))[0]?.results).toEqual([{ table_name: 'orders', loaded_through: '2026-03-01', note: 'edited' }]);
    expect((await migrate(v1)).views).toEqual({ created: [], replaced: ['v_watermark_lag'] });
    expect((await d1.query('SELECT * FROM v_watermark_lag'))[0]?.results).toEqual([{ table_name: 'orders', loaded_through: '2026-03-01', latest_run_date: null, lag_days: null }]);
  });

  it('A contract gains a column: migrate, load the next night; old versions untouched, the new column filled from that night on, no spurious versions', async () => {
    expect(await night(v1, '2026-03-01', ['CODE_SITE;NOM', 'LYON;Lyon', 'NANTES;Nantes'])).toBe(2);
    expect(await night(v1, '2026-03-02', ['CODE_SITE;NOM', 'LYON;Lyon', 'NANTES;Nantes Est'])).toBe(1);
    const before = await versions();

    expect(await migrate(v2, { dryRun: true })).toMatchObject({ contract: ['sites.phone: column added ("TELEPHONE" text(max 20) addedIn 2027-01); rows loaded before hold NULL'], views: { replaced: ['sites_current'] } });
    expect(await versions()).toEqual(before);
    expect(await migrate(v2)).toMatchObject({ contract: ['sites.phone: column added ("TELEPHONE" text(max 20) addedIn 2027-01); rows loaded before hold NULL'], views: { replaced: ['sites_current'] } });
    expect(await versions()).toEqual(before.map((v) => ({ ...v, phone: null })));
    expect(await migrate(v2)).toMatchObject({ contract: [], views: { created: [], replaced: [] } });

    // LYON comes with no phone: same hash, no version. NANTES's phone appears: the file says something the warehouse did
    // not hold, so it is a new version from that night (the old one keeps what the earlier files said). PARIS is new.
    expect(await night(v2, '2026-03-03', ['CODE_SITE;NOM;TELEPHONE', 'LYON;Lyon;', 'NANTES;Nantes Est;0240000000', 'PARIS;Paris;0100000000'])).toBe(2);
    const after = await versions();
    expect(after.filter((v) => v._valid_from < '2026-03-03' && v.site_code !== 'NANTES')).toEqual(before.filter((v) => v.site_code !== 'NANTES').map((v) => ({ ...v, phone: null })));
    expect(after.map((v) => [v.site_code, v.name, v.phone, v._valid_from, v._valid_to])).toEqual([
      ['LYON', 'Lyon', null, '2026-03-01', null],
      ['NANTES', 'Nantes', null, '2026-03-01', '2026-03-02'],
      ['NANTES', 'Nantes Est', null, '2026-03-02', '2026-03-03'],
      ['NANTES', 'Nantes Est', '0240000000', '2026-03-03', null],
      ['PARIS', 'Paris', '0100000000', '2026-03-03', null],
    ]);
    expect((await d1.query('SELECT site_code, phone FROM sites_current ORDER BY site_code'))[0]?.results).toEqual([
      { site_code: 'LYON', phone: null }, { site_code: 'NANTES', phone: '0240000000' }, { site_code: 'PARIS', phone: '0100000000' },
    ]);
    // Loading the same night again (publish reverts its own load id first) leaves the same versions.
    await night(v2, '2026-03-03', ['CODE_SITE;NOM;TELEPHONE', 'LYON;Lyon;', 'NANTES;Nantes Est;0240000000', 'PARIS;Paris;0100000000']);
    expect(await versions()).toEqual(after);
  });

  it('A renamed Sodiwin header: recorded only, and the next file, with the new header, loads without new versions', async () => {
    const before = await versions();
    expect(await migrate(v3)).toMatchObject({ contract: ['sites.name: Sodiwin header "NOM" is now "LIBELLE" (recorded, no data change)'], views: { created: [], replaced: [] } });
    expect(await versions()).toEqual(before);
    expect(await night(v3, '2026-03-04', ['CODE_SITE;LIBELLE;TELEPHONE', 'LYON;Lyon;', 'NANTES;Nantes Est;0240000000', 'PARIS;Paris;0100000000'])).toBe(0);
    expect(await versions()).toEqual(before);
  });

  it('A destructive change is refused with a message naming the table, the column, both definitions and what to do; nothing changes', async () => {
    const dropped = sites([v3.columns[0]!, v3.columns[2]!]);
    const refused = migrate(dropped);
    await expect(refused).rejects.toMatchObject({ type: 'ContractChangeRefused' });
    const message = await refused.catch((error: Error) => error.message);
    expect(message).toContain('sites.name: was "LIBELLE" text(max 40), now absent from the contract: the column would be dropped with the values already loaded. What to do: keep the column in the contract');
    const narrowed = sites([v3.columns[0]!, text('LIBELLE', 'name', 10, 'name'), v3.columns[2]!]);
    await expect(migrate(narrowed)).rejects.toThrow('sites.name: was "LIBELLE" text(max 40), now "LIBELLE" text(max 10): the type is narrowed');
    expect(await migrate(v3)).toMatchObject({ contract: [], views: { created: [], replaced: [] } });
  });

  it('A decimal scale is widened (hashScale): its units are multiplied with the record, once; amounts, checksum and row hashes unchanged, no spurious versions', async () => {
    const withPlots = (plot: TableContract) => applyMigrations(d1, { contracts: [...tableContracts, v3, plot] });
    await withPlots(p1);
    expect(await night(p1, '2026-03-01', ['CODE_PARCELLE;SURFACE', 'A;12,5', 'B;0,07', 'C;1234567,89'])).toBe(3);
    const before = await tableChecksum(d1, p1);
    const stored = async () => (await d1.query('SELECT plot_code, area, area_units FROM plots_current ORDER BY plot_code'))[0]?.results;
    expect(await stored()).toEqual([{ plot_code: 'A', area: 12.5, area_units: 1250 }, { plot_code: 'B', area: 0.07, area_units: 7 }, { plot_code: 'C', area: 1234567.89, area_units: 123456789 }]);

    const widened = 'plots.area: widened from decimal(scale 2) to decimal(scale 3, hashScale 2); area_units multiplied by 10 (same amounts, same row hashes)';
    expect(await withPlots(p2)).toMatchObject({ contract: [widened], views: { replaced: ['plots_current'] } });
    expect(await stored()).toEqual([{ plot_code: 'A', area: 12.5, area_units: 12500 }, { plot_code: 'B', area: 0.07, area_units: 70 }, { plot_code: 'C', area: 1234567.89, area_units: 1234567890 }]);
    expect(await tableChecksum(d1, p2)).toEqual(before);
    expect(await withPlots(p2)).toMatchObject({ contract: [], views: { created: [], replaced: [] } });
    expect((await stored())?.map((r) => r.area_units)).toEqual([12500, 70, 1234567890]); // not multiplied twice

    // The same amounts at the new scale open nothing; a third decimal is a new version.
    expect(await night(p2, '2026-03-02', ['CODE_PARCELLE;SURFACE', 'A;12,500', 'B;0,075', 'C;1234567,89'])).toBe(1);
    expect((await stored())?.map((r) => r.area_units)).toEqual([12500, 75, 1234567890]);
  });
});
