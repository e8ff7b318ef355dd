/**
 * Benchmark of the nightly path (DESIGN §10), printed, not asserted:
 *   node bench/nightly.ts [--scale S] [--table T]
 *   node bench/nightly.ts --history N --change P   (SCD2 cost in proportion to change, below)
 * For one table's export at 1× and 10× size, each in a fresh process with its own local
 * D1 service: rows/s of validate, stage, publish and verify, peak RSS, HTTP requests,
 * and the ratio of validate+stage+publish to a bare bulk insert of the same rows into
 * the same D1 (measured in the same process, right after).
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { scanExport } from '../activities/export-reader.ts';
import { createPublishActivities } from '../activities/publish.ts';
import { rowHash } from '../activities/row-hash.ts';
import { createStageActivities } from '../activities/stage.ts';
import { createValidateActivities } from '../activities/validate.ts';
import { createVerifyActivities } from '../activities/verify.ts';
import { nasLayout } from '../activities/nas.ts';
import { contractFor } from '../contracts/index.ts';
import { exportFileName, sodiwinDialect } from '../contracts/types.ts';
import { createD1Client, type D1Client } from '../d1/client.ts';
import { startLocalD1Service } from '../d1/local-service/server.ts';
import { packBatches, packInserts, type SqlValue } from '../d1/pack.ts';
import { generateExports } from '../generator/index.ts';
import { applyMigrations } from '../activities/schema.ts';
import { sqlType } from '../history/ddl.ts';
import { storedName } from '../history/stored-columns.ts';
import { ConfigError, loadConfig } from '../worker/config.ts';

const from = '2026-03-02';
/** Stage's chunk as the worker's configuration gives it (STAGE_CHUNK_ROWS, checked by the same rule). */
const stageChunkRows = (() => {
  try {
    return loadConfig({ STAGE_CHUNK_ROWS: process.env.STAGE_CHUNK_ROWS }).load.stageChunkRows;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
})();
const { values: args } = parseArgs({
  options: { scale: { type: 'string', default: '40' }, table: { type: 'string', default: 'order_lines' }, measure: { type: 'string' }, history: { type: 'string' }, change: { type: 'string', default: '1' } },
});

interface Measurement {
  rows: number;
  bytes: number;
  seconds: Record<'validate' | 'stage' | 'publish' | 'verify' | 'bare', number>;
  requests: { nightly: number; bare: number };
  peakRssMiB: number;
  /** Peak RSS (MiB) reached by the end of each phase. */
  peakAfter: Record<string, number>;
  /** Heap used after a full GC at the same points, MiB. */
  heapAfter: Record<string, number>;
}

/** Counts the D1 requests a phase makes. */
function counting(d1: D1Client): { d1: D1Client; count: () => number } {
  let n = 0;
  return {
    d1: { ...d1, query: (...a: Parameters<D1Client['query']>) => (n++, d1.query(...a)), batch: (...a: Parameters<D1Client['batch']>) => (n++, d1.batch(...a)) } as D1Client,
    count: () => n,
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return [result, Number(process.hrtime.bigint() - start) / 1e9];
}

/** Child mode: load one file through the nightly activities, then bare-insert the same rows. D1 is the parent's service. */
async function measure(file: string): Promise<Measurement> {
  const table = args.table!;
  const contract = contractFor(table);
  const dir = await mkdtemp(join(tmpdir(), 'bench-nightly-'));
  const service = JSON.parse(process.env.BENCH_D1 ?? '{}') as { url: string; accountId: string; databaseId: string; apiToken: string };
  try {
    const raw = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken });
    await applyMigrations(raw);
    const { d1, count } = counting(raw);
    const nas = nasLayout(join(dir, 'nas'));
    const env = new MockActivityEnvironment();
    const run = <A, R>(activity: (input: A) => Promise<R>, input: A): Promise<R> => env.run(activity, input);
    const bytes = (await stat(file)).size;
    const fetched = { fileName: exportFileName(contract, from), archivePath: file, sha256: 'bench', bytes, loadId: `bench_${table}`, alreadyLoaded: false };
    const load = { table, businessDate: from, loadId: fetched.loadId, fileName: fetched.fileName };

    const { validateExport } = createValidateActivities({ d1, nas, rejectTolerance: 0, rejectedRowsCap: 100_000, dialect: sodiwinDialect });
    const { stageExport } = createStageActivities({ d1, stageChunkRows: stageChunkRows, rejectedRowsCap: 100_000, dialect: sodiwinDialect });
    const { publishLoad } = createPublishActivities({ d1 });
    const { verifyLoad } = createVerifyActivities({ d1 });
    const rss = () => Math.round(process.resourceUsage().maxRSS / 1024);
    /** Heap in use after a full GC (the child runs with --expose-gc), in MiB: what is retained, not what V8 reserved. */
    const heapAfterGc = () => {
      (globalThis as { gc?: () => void }).gc?.();
      return Math.round(process.memoryUsage().heapUsed / 2 ** 20);
    };
    const peakAfter: Record<string, number> = { start: rss() };
    const heapAfter: Record<string, number> = { start: heapAfterGc() };
    const [validated, validate] = await timed(() => run(validateExport, { table, businessDate: from, runId: 'bench', fetched }));
    peakAfter.validate = rss();
    heapAfter.validate = heapAfterGc();
    const [staged, stage] = await timed(() => run(stageExport, { ...load, archivePath: file, ...(validated.spool ? { spool: validated.spool } : {}) }));
    peakAfter.stage = rss();
    heapAfter.stage = heapAfterGc();
    const [published, publish] = await timed(() => run(publishLoad, load));
    const [, verify] = await timed(() => run(verifyLoad, { ...load, validated, staged, published }));
    const nightlyRequests = count();
    const peakRssMiB = rss(); // before the reference holds its rows in memory
    peakAfter.verify = peakRssMiB;
    heapAfter.verify = heapAfterGc();

    // The reference: the same rows, already parsed, into a plain table of the same columns, same packing.
    const bareTable = `bare_${table}`;
    const rows: SqlValue[][] = [];
    await scanExport({ path: file, contract, dialect: sodiwinDialect, businessDate: from, onRow: (row) => void rows.push([...contract.columns.map((c) => row[c.name] ?? null), rowHash(contract, row)]) });
    await raw.query(`CREATE TABLE "${bareTable}" (${contract.columns.map((c) => `"${storedName(c)}" ${sqlType(c.type)}`).join(', ')}, _row_hash TEXT NOT NULL)`);
    const columns = [...contract.columns.map(storedName), '_row_hash'];
    const [, bare] = await timed(async () => {
      const statements = packInserts({ table: bareTable, columns, rows, mode: 'literal' });
      for (const batch of packBatches(statements)) await d1.batch(batch);
    });
    return {
      rows: validated.rowsRead,
      bytes,
      seconds: { validate, stage, publish, verify, bare },
      requests: { nightly: nightlyRequests, bare: count() - nightlyRequests },
      peakRssMiB,
      peakAfter,
      heapAfter,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One night of a table through the four activities: seconds per phase, D1 requests, what stage sent. */
interface NightMeasurement {
  seconds: Record<'validate' | 'stage' | 'publish' | 'verify', number>;
  requests: number;
  rowsStaged: number;
  diff: string;
}

/**
 * `--history N --change P`: SCD2 cost in proportion to change. A customers snapshot of N rows is
 * loaded whole (the first full load), then a night where P% of the rows changed, then a night where
 * nothing did; each night's time is set against the first load's. The files are written here (the
 * generator's customers grow with the square root of its scale), all in one local D1 service.
 */
async function measureScd2(historyRows: number, changePercent: number): Promise<void> {
  const contract = contractFor('customers');
  const dir = await mkdtemp(join(tmpdir(), 'bench-scd2-'));
  const service = await startLocalD1Service({ dataDir: join(dir, 'd1'), apiToken: randomBytes(16).toString('hex') });
  try {
    const raw = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken });
    await applyMigrations(raw);
    const { d1, count } = counting(raw);
    const nas = nasLayout(join(dir, 'nas'));
    const activities = {
      ...createValidateActivities({ d1, nas, rejectTolerance: 0, rejectedRowsCap: 100_000, dialect: sodiwinDialect }),
      ...createStageActivities({ d1, stageChunkRows: stageChunkRows, rejectedRowsCap: 100_000, dialect: sodiwinDialect }),
      ...createPublishActivities({ d1 }),
      ...createVerifyActivities({ d1 }),
    };
    const env = new MockActivityEnvironment();
    const run = <A, R>(activity: (input: A) => Promise<R>, input: A): Promise<R> => env.run(activity, input);
    const changedEvery = Math.round(100 / changePercent);
    const nights = [
      { label: 'first full load', businessDate: '2026-03-02', changed: () => false },
      { label: `${changePercent}% of rows changed`, businessDate: '2026-03-03', changed: (i: number) => i % changedEvery === 0 },
      { label: 'nothing changed', businessDate: '2026-03-04', changed: (i: number) => i % changedEvery === 0 },
    ];
    const measured: [string, NightMeasurement][] = [];
    for (const night of nights) {
      const file = join(dir, exportFileName(contract, night.businessDate));
      await writeCustomers(file, historyRows, night.changed);
      const bytes = (await stat(file)).size;
      const loadId = `bench_customers_${night.businessDate}`;
      const fetched = { fileName: exportFileName(contract, night.businessDate), archivePath: file, sha256: loadId, bytes, loadId, alreadyLoaded: false };
      const load = { table: 'customers', businessDate: night.businessDate, loadId, fileName: fetched.fileName };
      const before = count();
      const [validated, validate] = await timed(() => run(activities.validateExport, { table: 'customers', businessDate: night.businessDate, runId: 'bench', fetched }));
      const [staged, stage] = await timed(() => run(activities.stageExport, { ...load, archivePath: file, ...(validated.spool ? { spool: validated.spool } : {}) }));
      const [published, publish] = await timed(() => run(activities.publishLoad, load));
      const [, verify] = await timed(() => run(activities.verifyLoad, { ...load, validated, staged, published }));
      const diff = staged.diff ? `diff against ${staged.diff.against}: ${staged.diff.rowsUnchanged.toLocaleString('en')} records unchanged, not parsed again, ${staged.diff.keysAbsent} keys absent` : 'whole file';
      measured.push([night.label, { seconds: { validate, stage, publish, verify }, requests: count() - before, rowsStaged: staged.rowsStaged, diff }]);
      await rm(file);
    }
    console.log(`bench/nightly --history ${historyRows} --change ${changePercent}: customers, local D1 service, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.versions.node}\n`);
    const total = (m: NightMeasurement) => m.seconds.validate + m.seconds.stage + m.seconds.publish + m.seconds.verify;
    const d1Side = (m: NightMeasurement) => m.seconds.stage + m.seconds.publish + m.seconds.verify;
    const first = measured[0]![1];
    for (const [label, m] of measured) {
      const phases = (['validate', 'stage', 'publish', 'verify'] as const).map((p) => `${p} ${m.seconds[p].toFixed(2)}`).join(', ');
      console.log(`${label}: ${total(m).toFixed(2)} s (${phases}); staged ${m.rowsStaged.toLocaleString('en')} rows (${m.diff}); ${m.requests} D1 requests`);
      if (m !== first) console.log(`  / first full load: ${(total(m) / total(first)).toFixed(3)} (stage+publish+verify alone: ${(d1Side(m) / d1Side(first)).toFixed(3)})`);
    }
    console.log(`\nbudgets: ${changePercent}% changed ≤ 0.15, nothing changed ≤ 0.10 of the first full load`);
  } finally {
    await service.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A customers snapshot of `rows` rows as Sodiwin writes it; a row for which `changed(i)` holds has another name. */
async function writeCustomers(path: string, rows: number, changed: (i: number) => boolean): Promise<void> {
  const contract = contractFor('customers');
  const out = createWriteStream(path, { encoding: 'latin1' });
  out.write(`${contract.columns.map((c) => c.source).join(';')}\r\n`);
  const terms = ['COMPTANT', '30J', '45JFM', '60J'];
  for (let i = 0; i < rows; i++) {
    const code = `C${String(i).padStart(9, '0')}`;
    const name = `Client ${i}${changed(i) ? ' (renamed)' : ''}`;
    const line = `${code};${name};${i} rue du Port;${String(10000 + (i % 89999))};Ville ${i % 500};R${String(i % 40).padStart(3, '0')};TARIF${i % 7};${terms[i % 4]};${(i % 100000) * 3},${String(i % 100).padStart(2, '0')};ACTIF\r\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

async function main(): Promise<void> {
  if (args.history) {
    await measureScd2(Number(args.history), Number(args.change));
    return;
  }
  if (args.measure) {
    console.log(JSON.stringify(await measure(args.measure)));
    return;
  }
  const scale = Number(args.scale);
  const contract = contractFor(args.table!);
  const work = await mkdtemp(join(tmpdir(), 'bench-exports-'));
  const results: [string, Measurement][] = [];
  try {
    for (const [label, s] of [['1×', scale], ['10×', scale * 10]] as const) {
      const outDir = join(work, label);
      await generateExports({ outDir, from, days: 1, scale: s, seed: 1 });
      const file = join(outDir, exportFileName(contract, from));
      if (!(await readdir(outDir)).includes(exportFileName(contract, from))) throw new Error(`no ${file}`);
      // The D1 service runs here, so the child's RSS is the worker side's alone.
      const service = await startLocalD1Service({ dataDir: join(work, `d1-${s}`), apiToken: randomBytes(16).toString('hex') });
      try {
        const env = { ...process.env, BENCH_D1: JSON.stringify({ url: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken }) };
        const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--table', args.table!, '--measure', file], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
        if (code !== 0) throw new Error(`measurement of ${file} failed (exit ${code})`);
        results.push([`${label} (scale ${s})`, JSON.parse(stdout.trim().split('\n').at(-1)!) as Measurement]);
      } finally {
        await service.close();
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  console.log(`bench/nightly: table ${args.table}, local D1 service, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}\n`);
  const rate = (rows: number, s: number) => `${Math.round(rows / s).toLocaleString('en')} rows/s`;
  for (const [label, m] of results) {
    const path = m.seconds.validate + m.seconds.stage + m.seconds.publish;
    console.log(`${label}: ${m.rows.toLocaleString('en')} rows, ${(m.bytes / 2 ** 20).toFixed(1)} MiB file`);
    for (const phase of ['validate', 'stage', 'publish', 'verify'] as const) console.log(`  ${phase.padEnd(9)} ${m.seconds[phase].toFixed(2).padStart(7)} s  ${rate(m.rows, m.seconds[phase])}`);
    console.log(`  bare bulk insert of the same rows: ${m.seconds.bare.toFixed(2)} s  ${rate(m.rows, m.seconds.bare)}`);
    console.log(`  validate+stage+publish / bare insert: ${(path / m.seconds.bare).toFixed(2)}×  (budget 2×)`);
    console.log(`  D1 requests: nightly path ${m.requests.nightly}, bare insert ${m.requests.bare}`);
    console.log(`  peak RSS: ${m.peakRssMiB} MiB (after start-up ${m.peakAfter.start}, validate ${m.peakAfter.validate}, stage ${m.peakAfter.stage}, publish+verify ${m.peakAfter.verify}); heap after GC ${m.heapAfter.start} → ${m.heapAfter.validate} → ${m.heapAfter.stage} → ${m.heapAfter.verify} MiB`);
  }
  const [one, ten] = [results[0]![1], results[1]![1]];
  console.log(`\npeak RSS 10× / 1×: ${(ten.peakRssMiB / one.peakRssMiB).toFixed(2)}  (budget: within 20%, i.e. ≤ 1.20)`);
}

await main();
