import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFileName } from '../../activities/manifest.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { incidentStateQuery, incidentWorkflowId, nightlyRun, type NightlySummary } from '../../workflows/index.ts';
import { eventually } from '../support/eventually.ts';
import { startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

/**
 * What lies in the inbox is not trusted: symbolic and hard links, FIFOs, directories and monstrous records
 * under an export's name. Each is quarantined with a typed error naming the path and what
 * it is, nothing behind a link is read, and no failure outgrows the Temporal history.
 */
const canary = 'sekret-canary-123';
const [day1, day2, day3] = ['2024-09-02', '2024-09-03', '2024-09-04'];
const baselines = join(import.meta.dirname, '..', 'fixtures', 'hostile', 'baseline');

interface InboxCase {
  table: string;
  name: string;
  errorType: 'NotARegularFile' | 'RecordTooLarge' | 'CsvHeaderMismatch';
  /** Text the failure message must contain (the path and what it is, or the line and the limit). */
  says: (inbox: string) => string[];
  /** Whether the file got as far as the archive (then a copy is quarantined). */
  archived: boolean;
  make(path: string, ctx: { inbox: string; secret: string }): Promise<void>;
}

const file = (table: string, date = day2) => exportFileName(contractFor(table), date);
const headerOf = (table: string) => contractFor(table).columns.map((c) => c.source).join(';');

/** Writes `parts` to `path` through a write stream, honouring back-pressure (big files are never held in memory). */
async function writeStreamed(path: string, parts: Iterable<string | Buffer>): Promise<void> {
  const out = createWriteStream(path);
  for (const part of parts) if (!out.write(part)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

function* repeated(chunk: string, times: number): Iterable<string> {
  for (let i = 0; i < times; i++) yield chunk;
}

const cases: InboxCase[] = [
  {
    table: 'customers',
    name: 'a symbolic link to a secret outside the inbox',
    errorType: 'NotARegularFile',
    says: () => ['is a symbolic link to', '(not followed)'],
    archived: false,
    make: (path, { secret }) => symlink(secret, path),
  },
  {
    table: 'products',
    name: "a symbolic link to another day's export",
    errorType: 'NotARegularFile',
    says: (inbox) => [`is a symbolic link to ${join(inbox, file('products', day1))} (not followed)`],
    archived: false,
    async make(path, { inbox }) {
      await writeFile(join(inbox, file('products', day1)), await readFile(join(baselines, 'products.csv')));
      await symlink(join(inbox, file('products', day1)), path);
    },
  },
  {
    table: 'invoices',
    name: 'a hard link to a secret outside the inbox (a regular file, another name for it)',
    errorType: 'NotARegularFile',
    says: () => ['is a regular file with 2 hard links (another of its names may be a file outside the inbox, so nothing of it was read)'],
    archived: false,
    make: (path, { secret }) => link(secret, path),
  },
  {
    table: 'brands',
    name: 'a FIFO (it must not hang fetch)',
    errorType: 'NotARegularFile',
    says: () => ['is a FIFO (named pipe)'],
    archived: false,
    async make(path) {
      const made = spawnSync('mkfifo', [path]);
      if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
    },
  },
  {
    table: 'reps',
    name: 'a directory named like an export',
    errorType: 'NotARegularFile',
    says: () => ['is a directory'],
    archived: false,
    make: (path) => mkdir(path).then(() => undefined),
  },
  {
    table: 'depots',
    name: 'a single 100 MB field',
    errorType: 'RecordTooLarge',
    says: () => ['line 2', 'larger than 1048576 bytes'],
    archived: true,
    make: (path) => writeStreamed(path, [`${headerOf('depots')}\r\nD01;`, ...repeated('x'.repeat(1 << 20), 100), ';Lyon\r\n']),
  },
  {
    table: 'stock',
    name: 'a 10 MB header',
    errorType: 'RecordTooLarge',
    says: () => ['line 1', 'more than the 65536 bytes a header may have'],
    archived: true,
    make: (path) => writeStreamed(path, [...repeated(`${'COLONNE_INUTILE;'.repeat(1 << 16)}`, 10), 'FIN\r\n']),
  },
  {
    table: 'price_lists',
    name: 'a 50 KB header of unknown columns (a long message, capped)',
    errorType: 'CsvHeaderMismatch',
    says: () => ['unexpected C00000, C00001', '… ('],
    archived: true,
    make: (path) => writeFile(path, `${Array.from({ length: 7000 }, (_, i) => `C${String(i).padStart(5, '0')}`).join(';')}\r\n`),
  },
];

/** Every file under `dir` (recursively), or none when it does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function runNight(warehouse: IsolatedWarehouse, businessDate: string, tables: string[]): Promise<NightlySummary> {
  const handle = await warehouse.client.workflow.start(nightlyRun, { workflowId: `nightly-${businessDate}`, taskQueue: warehouse.config.temporal.taskQueue, args: [{ businessDate, tables }] });
  return handle.result();
}

describe('the inbox gives regular files or a clear error', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let outside: string;
  let secret: string;
  let night: NightlySummary;
  let manifestNight: NightlySummary;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    outside = await mkdtemp(join(tmpdir(), 'sodimo-etc-'));
    secret = join(outside, 'env');
    await writeFile(secret, `D1_API_URL=https://api.cloudflare.com\nCLOUDFLARE_API_TOKEN=${canary}\n`);
    await mkdir(warehouse.inbox, { recursive: true });
    for (const c of cases) await c.make(join(warehouse.inbox, file(c.table)), { inbox: warehouse.inbox, secret });
    // A companion table that is an ordinary file loads normally the same night.
    await writeFile(join(warehouse.inbox, file('payments')), await readFile(join(baselines, 'payments.csv')));
    // Another night: the export is fine, but the night's manifest is a link to the secret.
    await writeFile(join(warehouse.inbox, file('orders', day3)), await readFile(join(baselines, 'orders.csv')));
    await symlink(secret, join(warehouse.inbox, manifestFileName(day3)));
    worker = await startWorker(warehouse.config);
    night = await runNight(warehouse, day2, [...cases.map((c) => c.table), 'payments']);
    manifestNight = await runNight(warehouse, day3, ['orders']);
  }, 120_000);
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
    if (outside) await rm(outside, { recursive: true, force: true });
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s is quarantined with a typed error naming what it is', async (_name, c) => {
    const outcome = night.tables.find((t) => t.table === c.table);
    expect(outcome?.status, JSON.stringify(outcome)).toBe('failed');
    if (outcome?.status !== 'failed') return;
    const path = join(warehouse.inbox, file(c.table));
    expect(outcome.errorType, outcome.message).toBe(c.errorType);
    expect(outcome.message.startsWith(`${c.table} ${day2} [${file(c.table)}`), outcome.message).toBe(true);
    if (c.errorType === 'NotARegularFile') expect(outcome.message).toContain(`${path} is `);
    for (const text of c.says(warehouse.inbox)) expect(outcome.message).toContain(text);
    expect(outcome.message.length).toBeLessThan(2500);

    const quarantine = join(warehouse.dir, 'nas', 'quarantine', day2, c.table);
    expect((await readdir(quarantine)).sort()).toEqual(c.archived ? [file(c.table), 'reason.json'].sort() : ['reason.json']);
    const reason = JSON.parse(await readFile(join(quarantine, 'reason.json'), 'utf8'));
    expect(reason).toMatchObject({ table: c.table, businessDate: day2, errorType: c.errorType, details: { table: c.table, businessDate: day2, file: file(c.table) } });
    const [loads] = await warehouse.d1.query<{ status: string; error_type: string }>('SELECT status, error_type FROM etl_loads WHERE table_name = ? AND business_date = ?', [c.table, day2]);
    expect(loads?.results).toEqual([{ status: 'quarantined', error_type: c.errorType }]);
    const state = await eventually(() => warehouse.client.workflow.getHandle(incidentWorkflowId(c.table, day2)).query(incidentStateQuery), (s) => s.alert !== 'pending');
    expect(state).toMatchObject({ status: 'open', errorType: c.errorType, alert: 'file' });
  });

  it('loads the ordinary file of the same night', () => {
    expect(night.tables.find((t) => t.table === 'payments')?.status).toBe('loaded');
  });

  it('treats a manifest in the inbox the same way', async () => {
    const outcome = manifestNight.tables.find((t) => t.table === 'orders');
    expect(outcome).toMatchObject({ status: 'failed', errorType: 'NotARegularFile' });
    const manifest = join(warehouse.inbox, manifestFileName(day3));
    expect(outcome?.status === 'failed' && outcome.message).toContain(`[${manifestFileName(day3)}]: ${manifest} is a symbolic link to ${secret} (not followed)`);
    expect(await readdir(join(warehouse.dir, 'nas', 'quarantine', day3, 'orders'))).toEqual(['reason.json']);
  });

  it('lets the secret behind a link appear nowhere: files, mail, etl_* tables, workflow histories', async () => {
    const tables = [...cases.map((c) => c.table), 'payments'];
    for (const c of cases) {
      await eventually(() => warehouse.client.workflow.getHandle(incidentWorkflowId(c.table, day2)).query(incidentStateQuery), (s) => s.alert !== 'pending');
    }
    const nas = join(warehouse.dir, 'nas');
    const files = [
      ...(await filesUnder(join(nas, 'archive'))),
      ...(await filesUnder(join(nas, 'quarantine'))),
      ...(await filesUnder(join(nas, 'reports'))),
      ...(await filesUnder(join(warehouse.dir, 'var', 'mail'))),
    ];
    expect(files.some((f) => f.endsWith('reason.json'))).toBe(true);
    expect(files.filter((f) => f.endsWith('.eml')).length).toBeGreaterThanOrEqual(cases.length + 1);
    for (const f of files) expect((await readFile(f)).includes(canary), f).toBe(false);
    // The secret itself was not copied anywhere: the archive holds only what was read through regular files.
    expect(files.filter((f) => f.includes(`${join(nas, 'archive')}/`) && !f.endsWith('.json'))).toHaveLength(4); // depots, stock, price_lists, payments

    const [etl] = await warehouse.d1.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'etl\\_%' ESCAPE '\\'");
    expect(etl?.results.length).toBeGreaterThan(3);
    for (const { name } of etl?.results ?? []) {
      const [rows] = await warehouse.d1.query(`SELECT * FROM "${name}"`);
      expect(JSON.stringify(rows?.results ?? []).includes(canary), name).toBe(false);
    }

    const ids = [
      `nightly-${day2}`,
      ...tables.map((t) => `nightly-${day2}-${t}-${day2}`),
      ...cases.map((c) => incidentWorkflowId(c.table, day2)),
      `nightly-${day3}`,
      `nightly-${day3}-orders-${day3}`,
      incidentWorkflowId('orders', day3),
    ];
    for (const id of ids) {
      const history = JSON.stringify(await warehouse.client.workflow.getHandle(id).fetchHistory());
      expect(history.includes(canary), id).toBe(false);
      // Not even a 10 MB header or a 100 MB field makes a large failure.
      expect(history.length, id).toBeLessThan(256 * 1024);
    }
  });

  it('caps a long failure everywhere but in reason.json, which keeps the full detail', async () => {
    const quarantine = join(warehouse.dir, 'nas', 'quarantine', day2);
    const header = JSON.parse(await readFile(join(quarantine, 'price_lists', 'reason.json'), 'utf8'));
    expect(header.message.length).toBeGreaterThan(40_000);
    expect(header.message).toContain('C06999');
    const [loads] = await warehouse.d1.query<{ error_detail: string }>('SELECT error_detail FROM etl_loads WHERE table_name = ? AND business_date = ?', ['price_lists', day2]);
    expect(loads?.results[0]?.error_detail.length).toBeLessThan(2500);
    const mail = (await filesUnder(join(warehouse.dir, 'var', 'mail'))).find((f) => f.includes('incident-price_lists'));
    expect((await readFile(mail!, 'latin1')).length).toBeLessThan(10_000);

    const stock = JSON.parse(await readFile(join(quarantine, 'stock', 'reason.json'), 'utf8'));
    expect(stock.details).toMatchObject({ line: 1, rule: 'at most 65536 bytes in the header line' });
    expect((await stat(join(quarantine, 'stock', file('stock')))).size).toBeGreaterThan(10_000_000);
  });
});
