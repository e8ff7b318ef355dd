/**
 * Benchmark of the historical backfill (issue 5), printed, not asserted:
 *   node bench/backfill.ts [--from 2019-01-01] [--to 2025-12-31] [--scale 1] [--chunk-rows 100000]
 *   node bench/backfill.ts --dump DIR      (a dump `warehouse generate --dump` wrote, instead of generating one)
 *   [--retention-seconds 60]              (Time Travel snapshots kept; each is a copy of the database)
 * Generates Sodiwin's dump (or reads one), then loads it twice, each time into its own fresh local D1
 * service, in this one process:
 *   1. the backfill's way: validate every file, then import it through D1's import API
 *      (literal multi-row INSERTs and a chunk marker per import file), with the backfill's
 *      own activities;
 *   2. the reference: the same history rows sent as bound-parameter multi-row INSERTs
 *      (100 parameters per statement, 200 statements per request), as a loader without the
 *      import API would; only the dump's first `--reference-rows` rows (default 150,000),
 *      because this way is two orders of magnitude slower.
 * Prints rows/s, HTTP requests (counted at the HTTP client) and time per phase, checks
 * that both databases end with the same checksums, and that the SUM a reader runs on D1 over
 * each control-total column's `<name>_units` in `<t>_current` equals the dump's control total
 * (match or MISMATCH per column; a mismatch fails the run).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Agent, type Dispatcher } from 'undici';
import { createBackfillActivities, type DumpPartReport } from '../activities/backfill.ts';
import { readDumpManifest } from '../activities/dump-manifest.ts';
import { scanExport } from '../activities/export-reader.ts';
import { nasLayout } from '../activities/nas.ts';
import { rowHash } from '../activities/row-hash.ts';
import { tableChecksum } from '../client/checksum.ts';
import { contractFor, tableContracts } from '../contracts/index.ts';
import { sodiwinDialect } from '../contracts/types.ts';
import { createD1Client, type D1Client } from '../d1/client.ts';
import { startLocalD1Service, type LocalD1Service } from '../d1/local-service/server.ts';
import { packBatches, packInserts, type SqlValue } from '../d1/pack.ts';
import { generateDump } from '../generator/dump.ts';
import { backfillLoadId } from '../history/backfill.ts';
import { controlSchemaDdl } from '../history/control-schema.ts';
import { historyColumns, historyDdl } from '../history/ddl.ts';
import { storedColumns } from '../history/stored-columns.ts';
import { controlTotalSql, reconcileControlTotal } from '../activities/verify.ts';
import { decimalText, parseDecimal, sumDecimals, type Decimal } from '../common/decimal.ts';

const { values: args } = parseArgs({
  options: { dump: { type: 'string' }, from: { type: 'string', default: '2019-01-01' }, to: { type: 'string', default: '2025-12-31' }, scale: { type: 'string', default: '1' }, 'chunk-rows': { type: 'string', default: '100000' }, 'reference-rows': { type: 'string', default: '150000' }, 'retention-seconds': { type: 'string', default: '60' } },
});
const chunkRows = Number(args['chunk-rows']);
/** The bound-parameter reference is slow (minutes per 100,000 rows): it loads the dump's first rows only, in the same order. */
const referenceRows = Number(args['reference-rows']);

/** A D1 client on its own local service, counting the HTTP requests it makes (uploads included). */
async function freshD1(work: string, name: string): Promise<{ service: LocalD1Service; d1: D1Client; requests: () => number }> {
  // Time Travel snapshots older than --retention-seconds (a minute) are pruned: the bench keeps disk use bounded,
  // the semantics are the same. Each import takes one snapshot, a copy of the database: with a multi-GB dump, lower it.
  const service = await startLocalD1Service({ dataDir: join(work, name), apiToken: randomBytes(16).toString('hex'), retentionDays: Number(args['retention-seconds']) / 86_400 });
  let requests = 0;
  const dispatcher = new Agent().compose((dispatch: Dispatcher['dispatch']) => (options, handler) => {
    requests += 1;
    return dispatch(options, handler);
  });
  const d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken, dispatcher, timeoutMs: 120_000 });
  await d1.batch([...controlSchemaDdl(), ...tableContracts.flatMap(historyDdl)].map((sql) => ({ sql })));
  return { service, d1, requests: () => requests };
}

/** A control total's text (`1234.50`) as an exact decimal at its own scale. */
function totalText(text: string): Decimal {
  const read = parseDecimal(text, { scale: text.split('.')[1]?.length ?? 0, decimalSeparator: '.', unbounded: true });
  if (!read.ok) throw new Error(`control total ${text}: ${read.rule}`);
  return read.value;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await fn();
  return [result, (performance.now() - start) / 1000];
}

const work = await mkdtemp(join(tmpdir(), 'bench-backfill-'));
const env = new MockActivityEnvironment();
/** Activity attempts retried, as the worker's retry policy would have (printed with the figures). */
const retried: string[] = [];

/**
 * Runs an activity as the worker would: a retryable failure (an import the local service did not
 * finish in time, say) is tried again, and the backfill's activity resumes from its chunk markers.
 * Without this, one slow import on a loaded machine ended a run of an hour (2026-12-02).
 */
async function asTheWorkerWould<T>(what: string, run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= attempts || !(error instanceof ApplicationFailure) || error.nonRetryable) throw error;
      retried.push(`${what}, attempt ${attempt}: ${error.type}`);
      console.log(`${what}: attempt ${attempt} failed (${error.type}: ${error.message}); trying again`);
    }
  }
}
const rate = (rows: number, seconds: number) => `${Math.round(rows / seconds).toLocaleString('en-US')} rows/s`;
try {
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  let dumpDir = args.dump;
  if (dumpDir === undefined) {
    const [dump, genSeconds] = await timed(() => generateDump({ outDir: join(work, 'dump'), from: args.from, to: args.to, scale: Number(args.scale), seed: 1 }));
    console.log(`dump ${args.from} … ${args.to} at scale ${args.scale}, generated in ${genSeconds.toFixed(1)} s`);
    dumpDir = dump.outDir;
  }
  const plan = await readDumpManifest(dumpDir, sodiwinDialect);
  const rows = plan.rowsTotal;
  const orderLines = plan.parts.filter((p) => p.table === 'order_lines').reduce((n, p) => n + p.rows, 0);
  const bytes = (await Promise.all(plan.parts.map((p) => stat(join(plan.dumpDir, p.file))))).reduce((n, s) => n + s.size, 0);
  console.log(`dump as of ${plan.asOf}: ${plan.parts.length} files, ${rows.toLocaleString('en-US')} rows (order lines ${orderLines.toLocaleString('en-US')}), ${(bytes / 2 ** 20).toFixed(0)} MiB`);

  // 1. The backfill's activities: validate, then import through the import API.
  const viaImport = await freshD1(work, 'import');
  const activities = createBackfillActivities({ d1: viaImport.d1, dialect: sodiwinDialect, nas: nasLayout(join(work, 'nas')) });
  // The dump's control totals, per table: each file's exact sums (validate reads them), added exactly.
  const dumpTotals = new Map<string, Record<string, string>>();
  const [, validateSeconds] = await timed(async () => {
    for (const part of plan.parts) {
      const report = (await env.run(activities.validateDumpPart, { dumpDir: plan.dumpDir, asOf: plan.asOf, part })) as DumpPartReport;
      const totals = dumpTotals.get(part.table) ?? {};
      for (const [column, value] of Object.entries(report.controlTotals)) totals[column] = decimalText(sumDecimals([totalText(totals[column] ?? '0'), totalText(value)]));
      dumpTotals.set(part.table, totals);
    }
  });
  console.log(`validated in ${validateSeconds.toFixed(1)} s`);
  const requestsBefore = viaImport.requests();
  const [, importSeconds] = await timed(async () => {
    for (const part of plan.parts) await asTheWorkerWould(`import of ${part.file}`, () => env.run(activities.importDumpPart, { dumpDir: plan.dumpDir, asOf: plan.asOf, part, chunkRows }));
  });
  const importRequests = viaImport.requests() - requestsBefore;
  console.log(`imported in ${importSeconds.toFixed(1)} s, ${importRequests} requests, ${retried.length} attempt(s) retried${retried.length ? `: ${retried.join('; ')}` : ''}`);

  // What a reader's SUM on D1 says: the integer SUM of the stored units over <t>_current, against the dump's total.
  const moneyChecks = await Promise.all(tableContracts.flatMap((contract) => contract.controlTotals.map(async (name) => {
    const [row] = await viaImport.d1.query<Record<string, string>>(`SELECT ${controlTotalSql(contract, name)} FROM "${contract.table}_current" h`);
    const column = contract.columns.find((c) => c.name === name)!;
    return { table: contract.table, ...reconcileControlTotal(name, dumpTotals.get(contract.table)?.[name] ?? '0', row?.results[0]?.[name] ?? '0', column.type.kind === 'decimal' ? column.type.scale : 0) };
  })));

  // 2. The reference: the same rows as bound-parameter INSERTs through /query batches.
  const viaBound = await freshD1(work, 'bound');
  let boundRows = 0;
  const [, boundSeconds] = await timed(async () => {
    for (const part of plan.parts) {
      if (boundRows >= referenceRows) break;
      const contract = contractFor(part.table);
      const columns = [...storedColumns(contract), ...historyColumns];
      const loadId = backfillLoadId(plan.asOf, part.table);
      let buffer: SqlValue[][] = [];
      const flush = async () => {
        for (const batch of packBatches(packInserts({ table: contract.table, columns, rows: buffer, mode: 'bound' }))) await viaBound.d1.batch(batch);
        buffer = [];
      };
      await scanExport({
        path: join(plan.dumpDir, part.file),
        fileName: part.file,
        contract,
        dialect: sodiwinDialect,
        businessDate: plan.asOf,
        onRow: async (row) => {
          if (boundRows >= referenceRows) return;
          boundRows += 1;
          buffer.push([...contract.columns.map((c) => (row[c.name] ?? null) as SqlValue), plan.asOf, null, 1, 0, rowHash(contract, row), loadId, null]);
          if (buffer.length >= 20_000) await flush();
        },
      });
      await flush();
    }
  });
  const boundRequests = viaBound.requests();

  // The reference holds the dump's first rows: compare it with the same rows of the imported database.
  const sums = await Promise.all([viaImport.d1, viaBound.d1].map((d1) => Promise.all(tableContracts.map((c) => tableChecksum(d1, c)))));
  const complete = boundRows === rows;
  // Tables the reference loaded whole must match exactly; a table it stopped in has fewer versions.
  const [imported = [], reference = []] = sums;
  const same = reference.every((sum, i) => (sum.versions < imported[i]!.versions ? !complete : sum.sha256 === imported[i]!.sha256 && sum.versions === imported[i]!.versions));
  console.log('');
  console.log('| | rows/s | seconds | HTTP requests |');
  console.log('|---|---|---|---|');
  console.log(`| validate (both ways; once) | ${rate(rows, validateSeconds)} | ${validateSeconds.toFixed(1)} | 0 |`);
  console.log(`| **import API** (parse again, ${chunkRows.toLocaleString('en-US')}-row import files) | ${rate(rows, importSeconds)} | ${importSeconds.toFixed(1)} | ${importRequests.toLocaleString('en-US')} |`);
  const scaleUp = rows / boundRows;
  console.log(`| **bound-parameter INSERTs** (parse, 100 parameters/statement, 200 statements/request), first ${boundRows.toLocaleString('en-US')} rows | ${rate(boundRows, boundSeconds)} | ${boundSeconds.toFixed(1)} | ${boundRequests.toLocaleString('en-US')} |`);
  if (!complete) console.log(`| bound-parameter INSERTs, whole dump at that rate (extrapolated) | | ${(boundSeconds * scaleUp).toFixed(0)} | ${Math.round(boundRequests * scaleUp).toLocaleString('en-US')} |`);
  console.log(`| import ÷ bound, per row: time ${((importSeconds / rows) / (boundSeconds / boundRows)).toFixed(3)}×, requests ${((importRequests / rows) / (boundRequests / boundRows)).toFixed(3)}× | | | |`);
  console.log('');
  console.log('| table | SUM(<column>_units) over <t>_current on D1 | the dump\'s control total | |');
  console.log('|---|---|---|---|');
  for (const check of moneyChecks) console.log(`| ${check.table} | ${check.measure.replace('control total of ', '')}: ${check.actual} | ${check.expected} | ${check.ok ? 'match' : 'MISMATCH'} |`);
  const moneyMatches = moneyChecks.every((c) => c.ok);
  console.log('');
  console.log(`control totals on D1 equal the dump's, to the unit: ${moneyMatches ? 'yes' : 'NO'}`);
  console.log(`${complete ? 'same checksums in both databases' : 'same checksums for every table the reference loaded whole'}: ${same ? 'yes' : 'NO'}; peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`);
  await viaImport.service.close();
  await viaBound.service.close();
  if (!same || !moneyMatches) process.exitCode = 1;
} finally {
  await rm(work, { recursive: true, force: true });
}
