/**
 * Benchmark of whole nights (DESIGN §10, issue 15), printed, not asserted:
 *   node bench/night.ts [--scale 10] [--nights 7] [--from 2026-03-02] [--seed 1] [--parallel 4] [--keep]
 * Generates a week of Sodiwin exports, then, night by night and in the same run:
 *   1. ours: `nightly-<date>` through the real worker (`warehouse worker`, its own process) on
 *      a Temporal dev server and the local D1 service, started and awaited as `warehouse run
 *      --wait` does; D1 requests counted by a proxy in front of the service (night-d1-counter.ts);
 *   2. the reference: dlt's scd2 merge into SQLite on the same files, with the same typing and
 *      checks (bench/dlt_night.py, contracts exported from contracts/ at each run).
 * Prints seconds per night for both and the ratio, CPU seconds per side (night-cpu.ts), D1
 * requests per night, per table and per activity, and where our time goes, read from the
 * Temporal histories (night-timeline.ts). Both sides must end with the same current rows.
 * Everything lives under var/bench/ (the dlt virtual environment is kept between runs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { cliEntry } from '../client/cli-support.ts';
import { startTemporalDevServer } from '../client/dev/temporal-server.ts';
import { startNightly } from '../client/nightly.ts';
import { tableContracts } from '../contracts/index.ts';
import { createD1Client } from '../d1/client.ts';
import { startLocalD1Service } from '../d1/local-service/server.ts';
import { generateExports } from '../generator/index.ts';
import { freePort } from '../test/support/free-port.ts';
import { bundleWorkflows } from '../worker/bundle.ts';
import { loadConfig } from '../worker/config.ts';
import { childPid, cpuDelta, cpuSnapshot, type CpuSnapshot } from './night-cpu.ts';
import { startD1Counter, type D1Counts } from './night-d1-counter.ts';
import { ensureDltVenv, startDlt, writeContractsJson, type DltNight } from './night-dlt.ts';
import { activityBreakdown, nightTimeline, requestsByActivity, type NightTimeline } from './night-timeline.ts';

const { values: args } = parseArgs({ options: { scale: { type: 'string', default: '10' }, nights: { type: 'string', default: '7' }, from: { type: 'string', default: '2026-03-02' }, seed: { type: 'string', default: '1' }, parallel: { type: 'string', default: '4' }, keep: { type: 'boolean', default: false } } });
const scale = Number(args.scale);
const days = Array.from({ length: Number(args.nights) }, (_, i) => new Date(Date.parse(`${args.from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10));
/** Under the repository's var/ (git-ignored), wherever the bench is started from. */
const benchDir = fileURLToPath(new URL('../var/bench', import.meta.url));
const work = join(benchDir, `night-scale-${scale}`);

interface OurNight {
  date: string;
  seconds: number;
  rows: number;
  d1: D1Counts;
  timeline: NightTimeline;
  /** CPU seconds during the night: `worker`, `temporal`, `services` (this process: the local D1 service and its workerd, the proxy, the client). */
  cpu: CpuSnapshot;
  /** dlt_night.py's CPU seconds during its night. */
  dltCpu: number;
}

/** `warehouse worker` in its own process; resolves once it polls its task queue. */
async function startWorkerProcess(env: Record<string, string>, logFile: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cliEntry, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  await new Promise<void>((resolvePolling, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('worker polling')) resolvePolling();
    });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the worker exited with code ${code}:\n${log.slice(-2000)}`)));
  });
  child.once('exit', () => void writeFile(logFile, log));
  return child;
}

/** Peak RSS of a process of this machine (VmHWM), in MiB. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

const s = (seconds: number) => seconds.toFixed(2);
const sum = (xs: number[]) => xs.reduce((n, x) => n + x, 0);

function report(ours: OurNight[], dlt: DltNight[], meta: string[]): string {
  const lines = [...meta, '', '| night | rows | ours (s) | dlt (s) | ours ÷ dlt | D1 requests | D1 statements |', '|---|---|---|---|---|---|---|'];
  ours.forEach((o, i) => lines.push(`| ${o.date} | ${o.rows.toLocaleString('en')} | ${s(o.seconds)} | ${s(dlt[i]!.seconds)} | ${(o.seconds / dlt[i]!.seconds).toFixed(2)}× | ${o.d1.requests} | ${o.d1.statements.toLocaleString('en')} |`));
  const [oursTotal, dltTotal] = [sum(ours.map((o) => o.seconds)), sum(dlt.map((d) => d.seconds))];
  lines.push(`| **week** | ${sum(ours.map((o) => o.rows)).toLocaleString('en')} | **${s(oursTotal)}** | **${s(dltTotal)}** | **${(oursTotal / dltTotal).toFixed(2)}×** | ${sum(ours.map((o) => o.d1.requests))} | ${sum(ours.map((o) => o.d1.statements)).toLocaleString('en')} |`);
  lines.push('', 'CPU seconds (user + system) during each night. Ours: the worker process, the Temporal dev server, and the bench process with its workerd (the local D1 service: HTTP side and SQLite; the counting proxy; the client). dlt: dlt_night.py and its children', '', '| night | worker | Temporal | local D1 + proxy | ours: total | dlt | ours ÷ dlt |', '|---|---|---|---|---|---|---|');
  const groups = ['worker', 'temporal', 'services'];
  const cpuOf = (o: OurNight) => sum(groups.map((g) => o.cpu[g] ?? 0));
  for (const o of ours) lines.push(`| ${o.date} | ${groups.map((g) => s(o.cpu[g] ?? 0)).join(' | ')} | ${s(cpuOf(o))} | ${s(o.dltCpu)} | ${(cpuOf(o) / o.dltCpu).toFixed(2)}× |`);
  const [oursCpu, dltCpu] = [sum(ours.map(cpuOf)), sum(ours.map((o) => o.dltCpu))];
  lines.push(`| **week** | ${groups.map((g) => s(sum(ours.map((o) => o.cpu[g] ?? 0)))).join(' | ')} | **${s(oursCpu)}** | **${s(dltCpu)}** | **${(oursCpu / dltCpu).toFixed(2)}×** |`);
  lines.push('', `dlt: checking the files ${s(sum(dlt.map((d) => d.checkSeconds)))} s, pipeline.run (extract, normalize, load) ${s(sum(dlt.map((d) => d.runSeconds)))} s over the week`);

  lines.push('', 'D1 requests per table and night (mean over the nights; `night`: the run’s own requests; D1 seconds: arrival to end of answer at the proxy, summed)', '', '| table | rows/night | requests/night | D1 seconds/night |', '|---|---|---|---|');
  for (const table of ['night', ...tableContracts.map((c) => c.table)]) {
    const mean = (f: (o: OurNight) => number) => sum(ours.map(f)) / ours.length;
    const rows = table === 'night' ? '' : Math.round(sum(dlt.map((d) => d.rows[table] ?? 0)) / dlt.length).toLocaleString('en');
    lines.push(`| ${table} | ${rows} | ${mean((o) => o.d1.byTable[table] ?? 0).toFixed(1)} | ${s(mean((o) => o.d1.secondsByTable[table] ?? 0))} |`);
  }
  const routes = new Map<string, number>();
  for (const o of ours) for (const [route, n] of Object.entries(o.d1.byRoute)) routes.set(route, (routes.get(route) ?? 0) + n);
  const d1Seconds = sum(ours.flatMap((o) => Object.values(o.d1.secondsByTable)));
  const requests = sum(ours.map((o) => o.d1.requests));
  lines.push('', `by route over the week: ${[...routes].map(([r, n]) => `${r} ${n}`).join(', ')}; mean D1 request, arrival to end of answer: ${((d1Seconds / requests) * 1000).toFixed(0)} ms`);

  const activities = ours.flatMap((o) => o.timeline.activities);
  const perActivity = new Map<string, { requests: number; seconds: number }>();
  for (const o of ours) {
    for (const [type, r] of requestsByActivity(o.timeline, o.d1.log)) {
      const entry = perActivity.get(type) ?? { requests: 0, seconds: 0 };
      perActivity.set(type, { requests: entry.requests + r.requests, seconds: entry.seconds + r.seconds });
    }
  }
  lines.push('', 'Where our time goes, from the Temporal histories (all nights); D1 requests matched to the activity running for their table', '', '| activity | runs | mean queue (s) | mean run (s) | total run (s) | retried | D1 requests per run | D1 seconds per run |', '|---|---|---|---|---|---|---|---|');
  for (const a of activityBreakdown(activities)) {
    const r = perActivity.get(a.type) ?? { requests: 0, seconds: 0 };
    lines.push(`| ${a.type} | ${a.count} | ${s(a.queueMean)} | ${s(a.runMean)} | ${s(a.runTotal)} | ${a.retried} | ${(r.requests / a.count).toFixed(1)} | ${s(r.seconds / a.count)} |`);
  }
  const between = perActivity.get('(between activities)');
  if (between) lines.push('', `D1 requests outside any activity of their table: ${between.requests} over the week`);
  const byType = new Map<string, { n: number; span: number; inActivities: number; inChildren: number; busy: number }>();
  for (const w of ours.flatMap((o) => o.timeline.workflows)) {
    const t = byType.get(w.type) ?? { n: 0, span: 0, inActivities: 0, inChildren: 0, busy: 0 };
    byType.set(w.type, { n: t.n + 1, span: t.span + (w.endMs - w.startMs) / 1000, inActivities: t.inActivities + w.inActivitiesMs / 1000, inChildren: t.inChildren + w.inChildrenMs / 1000, busy: t.busy + w.busyMs / 1000 });
  }
  lines.push('', '| workflow | runs | mean duration (s) | mean in activities (s) | mean in child workflows (s) | mean between (s) |', '|---|---|---|---|---|---|');
  // A workflow with neither activities nor children (the lease holder, which waits for its release) has no time to split.
  for (const [type, t] of byType) if (t.busy > 0) lines.push(`| ${type} | ${t.n} | ${s(t.span / t.n)} | ${s(t.inActivities / t.n)} | ${s(t.inChildren / t.n)} | ${s((t.span - t.busy) / t.n)} |`);

  lines.push('', 'Each night: the client’s wait, and the nightly workflow before, during and after its table loads', '', '| night | wall (s) | workflow (s) | before the loads (s) | the loads (s) | after the loads (s) | loadTable, mean (s) | loadTable between activities, mean (s) |', '|---|---|---|---|---|---|---|---|');
  for (const o of ours) {
    const night = o.timeline.workflows.find((w) => w.type === 'nightlyRun')!;
    const loads = o.timeline.workflows.filter((w) => w.type === 'loadTable');
    const first = Math.min(...loads.map((w) => w.startMs));
    const last = Math.max(...loads.map((w) => w.endMs));
    const mean = (f: (w: (typeof loads)[number]) => number) => sum(loads.map(f)) / loads.length / 1000;
    lines.push(`| ${o.date} | ${s(o.seconds)} | ${s((night.endMs - night.startMs) / 1000)} | ${s((first - night.startMs) / 1000)} | ${s((last - first) / 1000)} | ${s((night.endMs - last) / 1000)} | ${s(mean((w) => w.endMs - w.startMs))} | ${s(mean((w) => w.endMs - w.startMs - w.busyMs))} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  await rm(work, { recursive: true, force: true });
  const exportsDir = join(work, 'nas', 'inbox');
  await mkdir(exportsDir, { recursive: true });
  const python = await ensureDltVenv(join(benchDir, 'dlt-venv'));
  const generated = performance.now();
  await generateExports({ outDir: exportsDir, from: days[0]!, days: days.length, scale, seed: Number(args.seed) });
  const generateSeconds = (performance.now() - generated) / 1000;
  const contractsJson = join(work, 'contracts.json');
  await writeContractsJson(contractsJson);

  const [temporal, service, bundle] = await Promise.all([
    freePort().then((port) => startTemporalDevServer({ port, logFile: join(work, 'temporal.log') })),
    startLocalD1Service({ dataDir: join(work, 'd1'), apiToken: randomBytes(16).toString('hex') }),
    bundleWorkflows(),
  ]);
  const stops: (() => Promise<unknown>)[] = [() => temporal.stop(), () => service.close()];
  try {
    const counter = await startD1Counter(service.origin);
    stops.unshift(() => counter.close());
    const bundlePath = join(work, 'workflow-bundle.js');
    await writeFile(bundlePath, bundle.code);
    const env = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: 'bench-night',
      D1_API_URL: counter.url,
      CLOUDFLARE_ACCOUNT_ID: service.accountId,
      D1_DATABASE_ID: service.databaseId,
      CLOUDFLARE_API_TOKEN: service.apiToken,
      WAREHOUSE_VAR_DIR: join(work, 'var'),
      WAREHOUSE_NAS_DIR: join(work, 'nas'),
      // The files are complete before the night starts: no waiting for their size to settle (production: 2 s).
      EXPORT_STABLE_MS: '0',
      WORKFLOW_BUNDLE_PATH: bundlePath,
      // Tables loaded at a time (production's default: 4); the worker and the night's start both read it.
      NIGHTLY_MAX_PARALLEL: args.parallel,
    };
    const config = loadConfig(env);
    const worker = await startWorkerProcess(env, join(work, 'worker.log'));
    stops.unshift(async () => {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    });
    counter.take(); // the worker's start-up (migrations) is not a night's
    const dlt = await startDlt({ python, contractsJson, exportsDir, dbFile: join(work, 'dlt', 'warehouse.sqlite'), pipelinesDir: join(work, 'dlt', 'pipelines') });
    const connection = await Connection.connect({ address: temporal.address });
    stops.unshift(() => connection.close());
    const client = new Client({ connection, namespace: temporal.namespace });

    const ours: OurNight[] = [];
    const theirs: DltNight[] = [];
    // workerd is not a root of its own: the local D1 service restarts Miniflare (a new workerd) around snapshots.
    const roots = { worker: worker.pid, dlt: dlt.pid, temporal: childPid(/start-dev/) };
    for (const date of days) {
      const cpuBefore = cpuSnapshot(roots, 'services');
      const started = performance.now();
      const handle = await startNightly(client, config, date);
      const summary = await handle.result();
      const seconds = (performance.now() - started) / 1000;
      const cpu = cpuDelta(cpuBefore, cpuSnapshot(roots, 'services'));
      const d1 = counter.take();
      if (summary.status !== 'ok') throw new Error(`nightly-${date} ended ${summary.status}: ${JSON.stringify(summary.tables.filter((t) => t.status === 'failed'))}`);
      const timeline = await nightTimeline(client, handle.workflowId);
      const dltBefore = cpuSnapshot(roots, 'services');
      theirs.push(await dlt.night(date));
      const dltCpu = cpuDelta(dltBefore, cpuSnapshot(roots, 'services')).dlt ?? 0;
      ours.push({ date, seconds, rows: sum(summary.tables.map((t) => ('rowsRead' in t ? t.rowsRead : 0))), d1, timeline, cpu, dltCpu });
      const cpuTotal = (cpu.worker ?? 0) + (cpu.temporal ?? 0) + (cpu.services ?? 0);
      process.stderr.write(`${date}: ${ours.at(-1)!.rows} rows; ours ${s(seconds)} s (CPU ${s(cpuTotal)} s, ${d1.requests} D1 requests), dlt ${s(theirs.at(-1)!.seconds)} s (CPU ${s(dltCpu)} s)\n`);
    }
    const workerPeak = await peakRssMiB(worker.pid!);

    // Both sides must end with the same current rows per table, or they did not do the same work.
    const dltCurrent = await dlt.finish();
    const d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken });
    const mismatches: string[] = [];
    for (const c of tableContracts) {
      const [result] = await d1.query<{ n: number }>(`SELECT COUNT(*) AS n FROM "${c.table}_current"`);
      const n = result?.results[0]?.n ?? -1;
      if (n !== dltCurrent[c.table]) mismatches.push(`${c.table}: ours ${n}, dlt ${dltCurrent[c.table]}`);
    }

    const meta = [
      `bench/night: ${days.length} nights ${days[0]} … ${days.at(-1)}, generator --scale ${scale} --seed ${args.seed} (generated in ${s(generateSeconds)} s)`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
      `ours: worker process peak RSS ${workerPeak} MiB, NIGHTLY_MAX_PARALLEL ${config.load.maxParallel}, RECHECK_DAYS ${config.load.recheckDays}; dlt ${dlt.version} (import ${s(dlt.importSeconds)} s, not counted)`,
      `current rows per table, ours = dlt: ${mismatches.length === 0 ? 'yes (all 13 tables)' : `NO — ${mismatches.join('; ')}`}`,
    ];
    console.log(report(ours, theirs, meta));
    if (mismatches.length > 0) process.exitCode = 1;
  } finally {
    for (const stop of stops) await stop().catch((error: unknown) => process.stderr.write(`stopping: ${String(error)}\n`));
    if (!args.keep) await rm(work, { recursive: true, force: true });
  }
}

await main();
