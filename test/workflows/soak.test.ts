import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableContracts } from '../../contracts/index.ts';
import type { D1Client } from '../../d1/client.ts';
import type { RandomFaultStats } from '../../d1/local-service/random-faults.ts';
import { Rng } from '../../generator/random.ts';
import { generateExports } from '../../generator/index.ts';
import { migrations } from '../../history/migrations.ts';
import { nightlyRun, type NightlySummary } from '../../workflows/index.ts';
import { runWarehouse } from '../support/cli.ts';
import { freePort } from '../support/free-port.ts';
import { startSmtpServer } from '../support/mail.ts';
import { faults, killHard, spawnWorker } from '../support/worker-process.ts';
import { allChecksums, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

/**
 * The soak: seven generated nights started by the CLI (`warehouse run --date D --wait`) on a
 * worker in its own process, while the local D1 service injects, at random, 5% faults of
 * every kind D1 serves (transient 7500s on HTTP 400, 7429, 429 with Retry-After, 500, HTML
 * 502/524, a hang, a dropped connection, and applied-but-answer-lost as hang-after,
 * drop-after, error-after) and the worker is SIGKILLed three times. Every night must end
 * `ok`, with the checksums and control rows of a clean warehouse that loaded the same files,
 * nothing quarantined, no incident, no alert (a real SMTP server receives nothing).
 *
 * Seeded: the same seed gives the same fault to the n-th request and the same kill points
 * (in requests seen); which request is the n-th depends on timing, so counts vary a little.
 */
const seed = Number(process.env.SOAK_SEED ?? 1313);
const rate = 0.05;
const kills = 3;
const days = ['2027-03-01', '2027-03-02', '2027-03-03', '2027-03-04', '2027-03-05', '2027-03-06', '2027-03-07'];

describe(`the soak: ${days.length} nights under ${rate * 100}% random D1 faults and ${kills} SIGKILLs (seed ${seed})`, () => {
  let soak: IsolatedWarehouse;
  let reference: IsolatedWarehouse;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;

  beforeAll(async () => {
    const smtpPort = await freePort();
    smtp = await startSmtpServer(smtpPort);
    // A hang costs one D1 request timeout: 5 s here instead of production's 30 s.
    [soak, reference] = await Promise.all([startIsolatedWarehouse({ SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, D1_TIMEOUT_MS: '5000' }), startIsolatedWarehouse()]);
    await generateExports({ outDir: soak.inbox, from: days[0]!, days: days.length, scale: 1, seed });
    await cp(soak.inbox, reference.inbox, { recursive: true });
  });
  afterAll(async () => {
    await soak?.close();
    await reference?.close();
    await smtp?.close();
  });

  it('every night ends ok with a clean run’s checksums and control rows, nothing quarantined, no incident, no alert', async () => {
    // The clean run: no faults (rate 0 only counts requests), an in-process worker, alongside the
    // soak (its nightly ids are its own, so both run in one namespace at once).
    await faults(reference, 'POST', { random: { seed, rate: 0 } });
    const cleanStarted = Date.now();
    const cleanRun = (async () => {
      const cleanWorker = await startWorker(reference.config);
      try {
        for (const day of days) {
          const { taskQueue } = reference.config.temporal;
          const summary = await reference.client.workflow.execute(nightlyRun, { workflowId: `soak-reference-nightly-${day}`, taskQueue, args: [{ businessDate: day, maxParallel: reference.config.load.maxParallel, recheckDays: reference.config.load.recheckDays }] });
          expect(summary.status).toBe('ok');
        }
      } finally {
        await cleanWorker.stop();
      }
      return Date.now() - cleanStarted;
    })();
    cleanRun.catch(() => undefined); // awaited after the soak; a failure is reported there, not as an unhandled rejection

    // Kill points drawn from the seed: on which nights, and after how many of that night's D1
    // requests (a night makes about 120: 9 or 10 per table and 4 of its own, more with retries).
    const rng = new Rng(seed);
    const killNights = rng.shuffle(days.map((_, i) => i)).slice(0, kills);
    const plan = new Map(killNights.map((night) => [night, rng.int(20, 100)]));

    await faults(soak, 'POST', { random: { seed, rate, maxRetryAfterSeconds: 3 } });
    const started = Date.now();
    const worker = new WorkerProcess(soak, join(soak.dir, 'worker.log'));
    const summaries: NightlySummary[] = [];
    const nightSeconds: number[] = [];
    try {
      for (const [night, day] of days.entries()) {
        const nightStarted = Date.now();
        const offset = plan.get(night);
        const killing = offset === undefined ? undefined : worker.killAfter((await requestsSeen(soak)) + offset, day);
        const run = await runWarehouse(['run', '--date', day, '--wait', '--json'], soak.env);
        if (killing) expect(await killing.settled(), `${day}: the night ended (${await requestsSeen(soak)} requests seen) before its kill point`).toBe(true);
        expect(run.code, `warehouse run --date ${day}: ${run.stdout}\n${run.stderr}`).toBe(0);
        summaries.push(JSON.parse(run.stdout) as NightlySummary);
        nightSeconds.push((Date.now() - nightStarted) / 1000);
      }
    } finally {
      await worker.stop();
      await faults(soak, 'POST', { random: null });
    }
    const soakMs = Date.now() - started;
    const cleanMs = await cleanRun;
    const cleanRequests = (await faults(reference, 'GET')).random!.requests;
    const stats = (await faults(soak, 'GET')).random!;
    console.log(report(stats, worker.kills, { cleanRequests, cleanMs, soakMs, nightSeconds }));

    expect(summaries.map((s) => [s.businessDate, s.status])).toEqual(days.map((d) => [d, 'ok']));
    for (const summary of summaries) expect(summary.tables.map((t) => `${t.table} ${t.status}`)).toEqual(tableContracts.map((c) => `${c.table} loaded`));
    expect(worker.kills).toHaveLength(kills);
    expect(stats.injected).toBeGreaterThan(0);

    expect(await allChecksums(soak.d1)).toEqual(await allChecksums(reference.d1));
    const soakControl = await controlRows(soak.d1);
    expect(soakControl).toEqual(await controlRows(reference.d1));
    // One verified load per table and night, one run and one bookmark per night, and nothing else.
    expect(soakControl.loads).toEqual(days.flatMap((d) => tableContracts.map((c) => ({ table_name: c.table, business_date: d, status: 'verified', n: 1 }))).sort(byTableThenDate));
    expect(soakControl.runs).toEqual(days.map((d) => ({ business_date: d, status: 'ok', n: 1 })));
    expect(soakControl.bookmarks).toEqual(days.map((d) => ({ business_date: d, n: 1 })));
    expect(soakControl.watermarks).toEqual(tableContracts.map((c) => ({ table_name: c.table, business_date: days.at(-1) })).sort((a, b) => a.table_name.localeCompare(b.table_name)));
    expect(soakControl.counts).toEqual({ incidents: 0, approvals: 0, deferred: 0, signoffs: 0, stagedRows: 0, migrations: migrations.length });

    expect(await readdir(join(soak.dir, 'nas', 'quarantine')).catch(() => [])).toEqual([]);
    expect(await readdir(soak.config.mail.mailDir).catch(() => [])).toEqual([]);
    expect(smtp.received).toEqual([]);
  }, 1_500_000);
});

/** D1 API requests random mode has seen so far. */
async function requestsSeen(warehouse: IsolatedWarehouse): Promise<number> {
  return (await faults(warehouse, 'GET')).random?.requests ?? 0;
}

/** The worker as its own process, SIGKILLed and started again at the kill points. */
class WorkerProcess {
  readonly kills: { night: string; atRequest: number; atSecond: number }[] = [];
  readonly warehouse: IsolatedWarehouse;
  readonly logFile: string;
  #child: ChildProcess;
  #stopped = false;
  readonly #started = Date.now();

  constructor(warehouse: IsolatedWarehouse, logFile: string) {
    this.warehouse = warehouse;
    this.logFile = logFile;
    this.#child = spawnWorker(warehouse, { logFile });
  }

  /**
   * SIGKILLs the worker once random mode has seen `requests` requests, then starts a new one.
   * `settled`, called once the night has ended, answers whether the kill happened (a night that
   * ended first stops the wait: false).
   */
  killAfter(requests: number, night: string): { settled(): Promise<boolean> } {
    let nightEnded = false;
    const done = (async () => {
      while ((await requestsSeen(this.warehouse)) < requests) {
        if (this.#stopped || nightEnded) return false;
        await sleep(50);
      }
      await killHard(this.#child);
      this.kills.push({ night, atRequest: await requestsSeen(this.warehouse), atSecond: Math.round((Date.now() - this.#started) / 1000) });
      this.#child = spawnWorker(this.warehouse, { logFile: this.logFile });
      return true;
    })();
    return {
      settled: () => {
        nightEnded = true;
        return done;
      },
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await killHard(this.#child);
  }
}

/** The soak's figures as a table for the test output (and bench/RESULTS.md). */
function report(
  stats: RandomFaultStats,
  killed: readonly { night: string; atRequest: number; atSecond: number }[],
  times: { cleanRequests: number; cleanMs: number; soakMs: number; nightSeconds: number[] },
): string {
  const lines = [
    `soak: seed ${stats.seed}, rate ${stats.rate}, ${days.length} nights, clean run ${times.cleanRequests} requests in ${(times.cleanMs / 1000).toFixed(1)} s`,
    `soak run: ${stats.requests} requests, ${stats.injected} faults injected, ${(times.soakMs / 1000).toFixed(1)} s (nights: ${times.nightSeconds.map((t) => t.toFixed(0)).join(', ')} s)`,
    `SIGKILLs: ${killed.map((k) => `${k.night} at request ${k.atRequest} (${k.atSecond} s)`).join('; ')}`,
    'faults by kind:',
    ...Object.entries(stats.byKind).sort(([a], [b]) => a.localeCompare(b)).map(([kind, n]) => `  ${kind.padEnd(20)} ${String(n).padStart(5)}`),
    'requests and faults by route:',
    ...Object.entries(stats.byRoute).sort(([a], [b]) => a.localeCompare(b)).map(([route, r]) => `  ${route.padEnd(26)} ${String(r.requests).padStart(6)} requests ${String(r.faults).padStart(5)} faults`),
  ];
  return lines.join('\n');
}

const byTableThenDate = (a: { table_name: string; business_date: string }, b: { table_name: string; business_date: string }) =>
  a.table_name.localeCompare(b.table_name) || a.business_date.localeCompare(b.business_date);

/** The control and decision rows, grouped so that a duplicate shows as a count above 1. */
async function controlRows(d1: D1Client) {
  const rows = async <Row>(sql: string) => ((await d1.query<Row>(sql))[0]?.results ?? []) as Row[];
  const count = async (sql: string) => (await rows<{ n: number }>(sql))[0]?.n ?? -1;
  const stagedRows = await Promise.all(tableContracts.map((c) => count(`SELECT count(*) AS n FROM "_stage_${c.table}"`)));
  return {
    loads: await rows('SELECT table_name, business_date, status, count(*) AS n FROM etl_loads GROUP BY 1, 2, 3 ORDER BY 1, 2, 3'),
    runs: await rows('SELECT business_date, status, count(*) AS n FROM etl_runs GROUP BY 1, 2 ORDER BY 1, 2'),
    bookmarks: await rows('SELECT business_date, count(*) AS n FROM etl_bookmarks GROUP BY 1 ORDER BY 1'),
    watermarks: await rows('SELECT table_name, business_date FROM etl_watermarks ORDER BY 1'),
    counts: {
      incidents: await count('SELECT count(*) AS n FROM etl_incidents'),
      approvals: await count('SELECT count(*) AS n FROM etl_approvals'),
      deferred: await count('SELECT count(*) AS n FROM etl_deferred_loads'),
      signoffs: await count('SELECT count(*) AS n FROM etl_parity_signoffs'),
      stagedRows: stagedRows.reduce((a, b) => a + b, 0),
      migrations: await count('SELECT count(*) AS n FROM d1_migrations'),
    },
  };
}
