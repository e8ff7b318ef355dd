import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sha256Of } from '../../activities/fetch.ts';
import { startBackfill } from '../../client/backfill.ts';
import { businessDateKey, etlStatusKey } from '../../common/search-attributes.ts';
import { rebuildAndCompare } from '../../client/rebuild.ts';
import { dumpManifestName } from '../../contracts/dump.ts';
import { tableContracts } from '../../contracts/index.ts';
import { backfill } from '../../workflows/index.ts';
import { generateDump, type DumpSummary } from '../../generator/dump.ts';
import { runWarehouse } from '../support/cli.ts';
import { currentState } from '../support/truth.ts';
import { allChecksums, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';
import { recordHistoriesOf } from '../support/histories.ts';
import { faults, killHard, spawnWorker, untilApplied } from '../support/worker-process.ts';

const asOf = '2025-12-31';
/** Small import files and short runs, so that a few months of history make many chunks and several continue-as-new. */
const chunkRows = 2000;
const filesPerRun = 4;

/** The dump's manifest lines as fields (header first). */
async function readManifest(dir: string): Promise<string[][]> {
  const text = iconv.decode(await readFile(join(dir, dumpManifestName(asOf))), 'win1252');
  return text.split('\r\n').filter(Boolean).map((line) => line.split(';'));
}

/** Rewrites a dump file's lines with `edit`, and its manifest line's sha256 (row count unchanged), as a faulty Sodiwin dump would be consistent with itself. */
async function editDumpFile(dir: string, file: string, edit: (lines: string[]) => string[]): Promise<void> {
  const path = join(dir, file);
  const lines = iconv.decode(await readFile(path), 'win1252').split('\r\n');
  await writeFile(path, iconv.encode(edit(lines).join('\r\n'), 'win1252'));
  const sha = await sha256Of(path);
  const manifest = (await readManifest(dir)).map((fields) => (fields[0] === file ? [fields[0], fields[1]!, fields[2]!, sha, fields[4]!] : fields));
  await writeFile(join(dir, dumpManifestName(asOf)), iconv.encode(`${manifest.map((f) => f.join(';')).join('\r\n')}\r\n`, 'win1252'));
}

async function versionCounts(warehouse: IsolatedWarehouse): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const c of tableContracts) {
    const [n] = await warehouse.d1.query<{ n: number }>(`SELECT count(*) AS n FROM "${c.table}"`);
    counts[c.table] = n?.results[0]?.n ?? 0;
  }
  return counts;
}

describe('the historical backfill through the import API', () => {
  let dumpRoot: string;
  let dump: DumpSummary;
  let reference: IsolatedWarehouse;
  let killed: IsolatedWarehouse;
  let bad: IsolatedWarehouse;

  beforeAll(async () => {
    dumpRoot = await mkdtemp(join(tmpdir(), 'sodimo-dump-'));
    dump = await generateDump({ outDir: join(dumpRoot, 'dump'), from: '2025-12-01', to: asOf, scale: 1, seed: 5, partRows: 3000 });
    [reference, killed, bad] = await Promise.all([startIsolatedWarehouse(), startIsolatedWarehouse(), startIsolatedWarehouse()]);
  });
  afterAll(async () => {
    await Promise.all([reference?.close(), killed?.close(), bad?.close()]);
    await rm(dumpRoot, { recursive: true, force: true });
  });

  it('loads the dump: every table equals the dump\'s ground truth, each row one version valid from the as-of date', async () => {
    expect(dump.files.filter((f) => f.table === 'order_lines').length).toBeGreaterThan(1);
    const worker = await startWorker(reference.config);
    try {
      const started = await startBackfill(reference.client, reference.config, dump.outDir, { chunkRows, filesPerRun });
      const result = await started.handle.result();
      expect(result).toMatchObject({ asOf, files: dump.files.length, chunksSkipped: 0 });
      // In the Web UI's list: the backfill of that as-of date, done (its last run after continue-as-new).
      const attributes = (await reference.client.workflow.getHandle(started.handle.workflowId).describe()).typedSearchAttributes;
      expect([attributes.get(businessDateKey), attributes.get(etlStatusKey)]).toEqual([asOf, 'backfill-done']);
      expect(result.runs).toBeGreaterThanOrEqual(Math.ceil((2 * dump.files.length) / filesPerRun)); // validate + import, filesPerRun at a time
      for (const contract of tableContracts) {
        expect(await currentState(reference.d1, contract), contract.table).toEqual(dump.truth.tables[contract.table]!.current);
      }
      const [shape] = await reference.d1.query<{ n: number }>(
        `SELECT count(*) AS n FROM order_lines WHERE _valid_from <> ? OR _valid_to IS NOT NULL OR _is_current <> 1 OR _is_deleted <> 0 OR _loaded_by <> ?`,
        [asOf, `backfill_${asOf}_order_lines`],
      );
      expect(shape?.results[0]?.n).toBe(0);
      const [marks] = await reference.d1.query<{ table_name: string; business_date: string; status: string }>(
        'SELECT w.table_name, w.business_date, l.status FROM etl_watermarks w JOIN etl_loads l ON l.load_id = w.load_id ORDER BY w.table_name',
      );
      expect(marks?.results).toEqual(tableContracts.map((c) => ({ table_name: c.table, business_date: asOf, status: 'verified' })).sort((a, b) => a.table_name.localeCompare(b.table_name)));

      // Running it again is a no-op: every chunk is found in D1 and skipped.
      const before = await allChecksums(reference.d1);
      const again = await (await startBackfill(reference.client, reference.config, dump.outDir, { chunkRows, filesPerRun })).handle.result();
      expect(again.chunksSkipped).toBeGreaterThan(0);
      expect(await allChecksums(reference.d1)).toEqual(before);

      // The dump is archived, and a rebuild from the archive replays it: every table the same.
      const archived = join(reference.dir, 'nas', 'archive', `dump-${asOf}`);
      for (const file of dump.files) expect(await sha256Of(join(archived, file.file)), file.file).toBe(file.sha256);
      const rebuilt = await rebuildAndCompare({ config: { ...reference.config, paths: { ...reference.config.paths, workflowBundle: inject('workflowBundlePath') } }, client: reference.client });
      expect(rebuilt.tables.filter((t) => !t.same)).toEqual([]);
      expect(rebuilt.tables.find((t) => t.table === 'order_lines')?.rebuilt.versions).toBe(dump.truth.tables.order_lines!.current.rows);
    } finally {
      await worker.stop();
    }
  }, 300_000);

  it('a worker killed mid-import resumes without duplicating a row; the CLI reattaches and ends with the same checksums', async () => {
    let child = spawnWorker(killed);
    try {
      const started = await startBackfill(killed.client, killed.config, dump.outDir, { chunkRows, filesPerRun });
      // Wait until a few chunks are in, then lose the answer of the next import (it lands in D1) and kill the worker.
      for (;;) {
        const [chunks] = await killed.d1.query<{ n: number }>('SELECT count(*) AS n FROM etl_backfill_chunks').catch(() => [undefined]);
        if ((chunks?.results[0]?.n ?? 0) >= 5) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await faults(killed, 'POST', { kind: 'hang-after', count: 1, retryAfterSeconds: 1, match: '"action":"poll"' });
      await untilApplied(killed, 1);
      await killHard(child);
      child = spawnWorker(killed);

      const cli = await runWarehouse(['backfill', '--dump', dump.outDir, '--wait'], killed.env);
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout).toContain(`attached to the running backfill ${started.workflowId}`);
      // Not a terminal: no progress bar anywhere (client/progress.ts draws it on a terminal's stderr only).
      expect(cli.stdout + cli.stderr).not.toMatch(/(importing|validating) +\[/);
      expect(cli.stdout).toContain(`backfill done: ${dump.files.reduce((n, f) => n + f.rows, 0).toLocaleString('en-US')} rows as of ${asOf}`);
      const result = await started.handle.result();
      expect(result.chunksSkipped).toBeGreaterThanOrEqual(1);
      await recordHistoriesOf(killed, 'backfill', { status: 'Completed', variant: 'resumed-after-kill' });
    } finally {
      await killHard(child);
    }
    expect(await allChecksums(killed.d1)).toEqual(await allChecksums(reference.d1));
    expect(await versionCounts(killed)).toEqual(Object.fromEntries(tableContracts.map((c) => [c.table, dump.truth.tables[c.table]!.current.rows])));
  }, 300_000);

  it('a bad row refuses the dump before anything is loaded; a key repeated across files is reverted after import', async () => {
    const worker = await startWorker(bad.config);
    try {
      const broken = join(dumpRoot, 'broken');
      await cp(dump.outDir, broken, { recursive: true });
      const secondPart = dump.files.filter((f) => f.table === 'order_lines')[1]!.file;
      let badValue = '';
      await editDumpFile(broken, secondPart, (lines) => {
        const fields = lines[7]!.split(';');
        badValue = fields[3] = 'douze';
        lines[7] = fields.join(';');
        return lines;
      });
      const refused = await runWarehouse(['backfill', '--dump', broken, '--wait'], bad.env);
      expect(refused.code).toBe(1);
      const header = lines0(refused.stderr);
      expect(header).toMatch(new RegExp(`^warehouse: backfill backfill-${asOf} failed: RowValidationFailed: order_lines ${asOf} \\[${secondPart}, line 8, column \\w+\\]: .*\\(value "${badValue}"\\)`));
      expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(Object.values(await versionCounts(bad)).every((n) => n === 0)).toBe(true);

      // A row of part 1 copied over a row of part 2: each file is valid on its own; D1's one-open-version rule catches it.
      const repeated = join(dumpRoot, 'repeated');
      await cp(dump.outDir, repeated, { recursive: true });
      const firstPartLine = iconv.decode(await readFile(join(repeated, dump.files.find((f) => f.table === 'order_lines')!.file)), 'win1252').split('\r\n')[3]!;
      await editDumpFile(repeated, secondPart, (lines) => lines.map((line, i) => (i === 9 ? firstPartLine : line)));
      const reverted = await runWarehouse(['backfill', '--dump', repeated, '--wait'], bad.env);
      expect(reverted.code).toBe(1);
      const key = firstPartLine.split(';').slice(0, 2).join('|');
      expect(lines0(reverted.stderr)).toContain(`DuplicateKey: order_lines ${asOf} [${secondPart}, line 10, column order_no, line_no]: key order_no, line_no = ${key} on line 10 is already in the dump`);
      expect(Object.values(await versionCounts(bad)).every((n) => n === 0)).toBe(true);
      const [markers] = await bad.d1.query<{ n: number }>('SELECT count(*) AS n FROM etl_backfill_chunks');
      expect(markers?.results[0]?.n).toBe(0);
      const [loads] = await bad.d1.query<{ status: string; error_type: string }>("SELECT DISTINCT status, error_type FROM etl_loads WHERE table_name = 'order_lines'");
      expect(loads?.results).toEqual([{ status: 'reverted', error_type: 'DuplicateKey' }]);
    } finally {
      await worker.stop();
    }
  }, 300_000);

  it('reads no dump file outside the dump directory or behind a link: the CLI refuses ../secret, the worker a file swapped for a link', async () => {
    const canary = 'sekret-canary-backfill-789';
    const secret = join(dumpRoot, 'secret');
    await writeFile(secret, `CLOUDFLARE_API_TOKEN=${canary}\n`);
    const archive = join(bad.dir, 'nas', 'archive');
    const archivedBefore = await readdir(archive).catch(() => []);

    // The manifest names ../secret: refused by the CLI before anything starts, naming the manifest line and the value.
    const escaping = join(dumpRoot, 'escaping');
    await cp(dump.outDir, escaping, { recursive: true });
    const manifest = await readManifest(escaping);
    const target = manifest[1]![0]!;
    manifest[1]![0] = '../secret';
    await writeFile(join(escaping, dumpManifestName(asOf)), iconv.encode(`${manifest.map((f) => f.join(';')).join('\r\n')}\r\n`, 'win1252'));
    const refused = await runWarehouse(['backfill', '--dump', escaping, '--wait'], bad.env);
    expect(refused.code).toBe(1);
    expect(lines0(refused.stderr)).toBe(
      `warehouse: dump ${asOf} [${dumpManifestName(asOf)}, line 2, column FICHIER]: FICHIER is not a plain file name: a folder, "..", or an absolute path may point outside the dump directory ${escaping}, and only files directly inside it are read (nothing was read) (value "../secret")`,
    );

    // A dump file replaced by a link after the CLI read the manifest: the worker's own check refuses it.
    const linked = join(dumpRoot, 'linked');
    await cp(dump.outDir, linked, { recursive: true });
    await rm(join(linked, target));
    await symlink(secret, join(linked, target));
    const worker = await startWorker(bad.config);
    try {
      const handle = await bad.client.workflow.start(backfill, { workflowId: `backfill-linked-${Date.now()}`, taskQueue: bad.config.temporal.taskQueue, args: [{ dumpDir: linked }] });
      const failure = await handle.result().then(() => undefined, (e: unknown) => e as { cause?: { cause?: { type?: string; message?: string } } });
      expect(failure?.cause?.cause?.type).toBe('NotARegularFile');
      expect(failure?.cause?.cause?.message).toContain(`${join(linked, target)} is a symbolic link to ${secret} (not followed); only a regular file inside the dump directory is read`);
      expect(JSON.stringify(await handle.fetchHistory()).includes(canary)).toBe(false);
    } finally {
      await worker.stop();
    }
    expect(`${refused.stdout}${refused.stderr}`.includes(canary)).toBe(false);
    expect(await readdir(archive).catch(() => [])).toEqual(archivedBefore);
  }, 300_000);
});

function lines0(text: string): string {
  return text.split('\n')[0] ?? '';
}

describe('undoing a backfill per the runbook, after it was run again', () => {
  const undoAsOf = '2028-06-10';
  let root: string;
  let undo: IsolatedWarehouse;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sodimo-dump-undo-'));
    undo = await startIsolatedWarehouse();
  });
  afterAll(async () => {
    await undo?.close();
    await rm(root, { recursive: true, force: true });
  });

  it("the bookmark in etl_runs stays the one taken before the first import, so the runbook's restore leaves the warehouse as before the backfill", async () => {
    const small = await generateDump({ outDir: join(root, 'dump'), from: '2028-06-01', to: undoAsOf, scale: 0.3, seed: 11, partRows: 5000 });
    const runBookmark = async () => {
      // The runbook's own query, through the CLI.
      const read = await runWarehouse(['query', '--json', `SELECT bookmark FROM etl_runs WHERE run_id = 'backfill-${undoAsOf}'`], undo.env);
      expect(read.code, read.stderr).toBe(0);
      return (JSON.parse(read.stdout) as { bookmark: string }[])[0]?.bookmark;
    };
    expect((await runWarehouse(['migrate'], undo.env)).code).toBe(0);
    const before = await allChecksums(undo.d1);
    const worker = await startWorker(undo.config);
    try {
      const first = await runWarehouse(['backfill', '--dump', small.outDir, '--wait'], undo.env);
      expect(first.code, first.stderr).toBe(0);
      const taken = await runBookmark();
      expect(taken).toBeTruthy();
      // Run again, as the runbook invites: every chunk is found and skipped, and the bookmark is not replaced.
      const again = await runWarehouse(['backfill', '--dump', small.outDir, '--wait'], undo.env);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/chunk\(s\) were already in D1 and skipped/);
      expect(await runBookmark()).toBe(taken);
      // And once more, as one run of the workflow (no continue-as-new): its history, recorded, replays the new path.
      const third = await startBackfill(undo.client, undo.config, small.outDir, { filesPerRun: 100 });
      expect((await third.handle.result()).runs).toBe(1);
      expect(await runBookmark()).toBe(taken);
      await recordHistoriesOf(undo, 'backfill', { status: 'Completed', variant: 'run-again' });
    } finally {
      await worker.stop();
    }
    const loaded = await versionCounts(undo);
    expect(Object.values(loaded).reduce((n, c) => n + c, 0)).toBe(small.files.reduce((n, f) => n + f.rows, 0));

    // "Undoing a backfill that succeeded": restore to that bookmark (wrangler d1 time-travel restore; the local service's same API).
    await undo.d1.restore({ bookmark: (await runBookmark())! });
    expect(Object.values(await versionCounts(undo)).every((n) => n === 0)).toBe(true);
    expect(await allChecksums(undo.d1)).toEqual(before);
    expect(await runBookmark()).toBeUndefined(); // the backfill's own run is undone with it
  }, 300_000);
});
