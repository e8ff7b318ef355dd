import { readdirSync, readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { appendFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFileName } from '../../activities/manifest.ts';
import { contractFor, tableContracts } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';
import { addDays } from '../../common/business-dates.ts';
import { incidentStateQuery, incidentWorkflowId, nightlyRun, type NightlySummary } from '../../workflows/index.ts';
import { freePort } from '../support/free-port.ts';
import { startSmtpServer } from '../support/mail.ts';
import { allChecksums, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';
import type { TableChecksum } from '../../client/checksum.ts';
import { eventually } from '../support/eventually.ts';

/** One case of the corpus under test/fixtures/hostile (see its README). */
interface HostileCase {
  dir: string;
  table: string;
  case: string;
  arrival?: 'file' | 'never' | 'growing';
  env?: Record<string, string>;
  expect: { errorType: string; line?: number; column?: string; value?: string; rule?: string };
}

const corpus = join(import.meta.dirname, '..', 'fixtures', 'hostile');
const cases: HostileCase[] = readdirSync(corpus)
  .filter((dir) => /^\d\d-/.test(dir))
  .sort()
  .map((dir) => ({ dir, ...JSON.parse(readFileSync(join(corpus, dir, 'case.json'), 'utf8')) }));

/** Runs nightly-<date> for a few tables only. */
async function runTables(warehouse: IsolatedWarehouse, businessDate: string, tables: string[]): Promise<NightlySummary> {
  const handle = await warehouse.client.workflow.start(nightlyRun, {
    workflowId: `nightly-${businessDate}`,
    taskQueue: warehouse.config.temporal.taskQueue,
    args: [{ businessDate, tables }],
  });
  return handle.result();
}

/** Writes the file a slice at a time, as Sodiwin does while its export runs, until stopped. */
function writeSlowly(path: string, bytes: Buffer): { stop(): Promise<void> } {
  let stopped = false;
  const writing = (async () => {
    await writeFile(path, bytes.subarray(0, 64));
    for (let at = 64; !stopped; at += 16) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await appendFile(path, at < bytes.length ? bytes.subarray(at, at + 16) : Buffer.from(' '));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await writing;
    },
  };
}

/**
 * Cases that can share one night: different tables, the same worker settings. Each group
 * is a warehouse of its own on its own dates; its night also loads a companion table
 * that is not in the group, which must load normally.
 */
interface CaseGroup {
  index: number;
  env: Record<string, string>;
  cases: HostileCase[];
  companion: string;
}

function groupCases(all: HostileCase[]): CaseGroup[] {
  const groups: CaseGroup[] = [];
  for (const hostile of all) {
    const env = { ...hostile.env, ...(hostile.arrival === 'growing' ? { EXPORT_STABLE_MS: '400' } : {}) };
    const fits = (g: CaseGroup) => JSON.stringify(g.env) === JSON.stringify(env) && !g.cases.some((c) => c.table === hostile.table);
    const group = groups.find(fits) ?? groups[groups.push({ index: groups.length, env, cases: [], companion: '' }) - 1]!;
    group.cases.push(hostile);
  }
  for (const group of groups) group.companion = tableContracts.map((c) => c.table).find((t) => !group.cases.some((c) => c.table === t))!;
  return groups;
}

/** What a group's two nights left behind, for its cases to check. */
interface GroupRun {
  group: CaseGroup;
  warehouse: IsolatedWarehouse;
  stop(): Promise<void>;
  day1: string;
  day2: string;
  first: NightlySummary;
  night: NightlySummary;
  before: TableChecksum[];
  after: TableChecksum[];
  delivered: Map<string, Buffer | undefined>;
}

async function runGroup(group: CaseGroup, smtpUrl: string): Promise<GroupRun> {
  const day1 = addDays('2025-01-06', 2 * group.index);
  const day2 = addDays(day1, 1);
  const utf8 = group.env.SODIWIN_ENCODING === 'utf-8';
  const warehouse = await startIsolatedWarehouse({ SMTP_URL: smtpUrl, ALERT_TO: 'paul@sodimo.example', ...group.env });
  const worker = await startWorker(warehouse.config);
  const stop = async () => {
    await worker.stop();
    await warehouse.close();
  };
  try {
    const tables = [...group.cases.map((c) => c.table), group.companion];
    /** A baseline export as the configured dialect has it (the corpus is Windows-1252). */
    const baseline = async (table: string) => {
      const bytes = await readFile(join(corpus, 'baseline', `${table}.csv`));
      return utf8 ? Buffer.from(iconv.decode(bytes, 'win1252'), 'utf8') : bytes;
    };
    await mkdir(warehouse.inbox, { recursive: true });
    for (const t of tables) await writeFile(join(warehouse.inbox, exportFileName(contractFor(t), day1)), await baseline(t));
    const first = await runTables(warehouse, day1, tables);
    const before = await allChecksums(warehouse.d1);

    const stamp = day2.replaceAll('-', '');
    await writeFile(join(warehouse.inbox, exportFileName(contractFor(group.companion), day2)), await baseline(group.companion));
    const manifestRows: string[] = [];
    const delivered = new Map<string, Buffer | undefined>();
    const writers: { stop(): Promise<void> }[] = [];
    for (const hostile of group.cases) {
      const dir = join(corpus, hostile.dir);
      const files = await readdir(dir);
      if (files.includes('manifest.csv')) manifestRows.push(...(await readFile(join(dir, 'manifest.csv'), 'latin1')).replaceAll('{yyyymmdd}', stamp).split('\r\n').slice(1).filter(Boolean));
      const arrival = hostile.arrival ?? 'file';
      const bytes = arrival === 'never' ? undefined : await readFile(join(dir, `${hostile.table}.csv`));
      delivered.set(hostile.dir, bytes);
      const path = join(warehouse.inbox, exportFileName(contractFor(hostile.table), day2));
      if (arrival === 'file') await writeFile(path, bytes!);
      if (arrival === 'growing') writers.push(writeSlowly(path, bytes!));
    }
    if (manifestRows.length) await writeFile(join(warehouse.inbox, manifestFileName(day2)), ['FICHIER;NB_LIGNES;SHA256;TOTAUX_CONTROLE', ...manifestRows, ''].join('\r\n'), 'latin1');
    const night = await runTables(warehouse, day2, tables).finally(() => Promise.all(writers.map((w) => w.stop())));
    const after = await allChecksums(warehouse.d1);
    return { group, warehouse, stop, day1, day2, first, night, before, after, delivered };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function inPool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}

describe('the hostile corpus: every bad export is caught with a clear reason, quarantined, alerted, and changes nothing', () => {
  const groups = groupCases(cases);
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  const runs = new Map<string, GroupRun>();

  beforeAll(async () => {
    const port = await freePort();
    smtp = await startSmtpServer(port);
    const done = await inPool(groups, 3, (group) => runGroup(group, `smtp://127.0.0.1:${port}`));
    for (const run of done) for (const hostile of run.group.cases) runs.set(hostile.dir, run);
  }, 900_000);
  afterAll(async () => {
    for (const run of new Set(runs.values())) await run.stop();
    await smtp?.close();
  });

  it('holds at least 40 distinct cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.case)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [c.dir, c] as const))('%s', async (_name, hostile) => {
    const run = runs.get(hostile.dir)!;
    const { warehouse, day1, day2, group } = run;
    const { table } = hostile;
    const arrival = hostile.arrival ?? 'file';
    expect(run.first.status, JSON.stringify(run.first.tables)).toBe('ok');

    // The expected error, with the table, the date, the file and the position.
    const file = exportFileName(contractFor(table), day2);
    const outcome = run.night.tables.find((t) => t.table === table);
    expect(outcome?.status, JSON.stringify(outcome)).toBe('failed');
    if (outcome?.status !== 'failed') return;
    expect(outcome.errorType, outcome.message).toBe(hostile.expect.errorType);
    expect(outcome.message.startsWith(`${table} ${day2} [${file}`), outcome.message).toBe(true);
    const quarantine = join(warehouse.dir, 'nas', 'quarantine', day2, table);
    const reason = JSON.parse(await readFile(join(quarantine, 'reason.json'), 'utf8'));
    const { errorType, ...position } = hostile.expect;
    expect(reason).toMatchObject({ table, businessDate: day2, errorType, details: { table, businessDate: day2, file, ...position } });

    // Quarantined: the file is set aside, the load recorded as such, and nothing changed in the warehouse.
    const fetched = arrival === 'file';
    expect((await readdir(quarantine)).sort()).toEqual(fetched ? [file, 'reason.json'].sort() : ['reason.json']);
    if (fetched) expect(await readFile(join(quarantine, file))).toEqual(run.delivered.get(hostile.dir));
    const [loads] = await warehouse.d1.query<{ status: string; error_type: string }>('SELECT status, error_type FROM etl_loads WHERE table_name = ? AND business_date = ?', [table, day2]);
    expect(loads?.results).toEqual([{ status: 'quarantined', error_type: errorType }]);
    expect(run.after).toEqual(run.before);
    const [watermark] = await warehouse.d1.query<{ business_date: string }>('SELECT business_date FROM etl_watermarks WHERE table_name = ?', [table]);
    expect(watermark?.results[0]?.business_date).toBe(day1);

    // The other table of the night loads normally.
    expect(run.night.tables.find((t) => t.table === group.companion)?.status).toBe('loaded');

    // One alert to Paul, naming the table, the date and the problem.
    const incidentId = incidentWorkflowId(table, day2);
    const alerts = () => smtp.received.filter((m) => m.headers['message-id'] === `<${incidentId}@sodimo-warehouse>`);
    const state = await eventually(() => warehouse.client.workflow.getHandle(incidentId).query(incidentStateQuery), (s) => s.alert === 'smtp');
    expect(state).toMatchObject({ status: 'open', errorType, alert: 'smtp' });
    expect(alerts()).toHaveLength(1);
    const [mail] = alerts();
    expect(mail!.to).toEqual(['paul@sodimo.example']);
    expect(mail!.headers.subject).toMatch(new RegExp(`^\\[warehouse\\] ${table} ${day2}: ${errorType} — `));
    expect(mail!.text).toContain(quarantine);
    expect(mail!.text).toContain(`warehouse approve ${incidentId} --mode rewind`);
    expect(smtp.received.filter((m) => m.headers.subject?.includes(` ${group.companion} ${day2}:`))).toEqual([]);
  });
});
