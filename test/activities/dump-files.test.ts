import { createHash } from 'node:crypto';
import { link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBackfillActivities } from '../../activities/backfill.ts';
import { readDumpManifest, type DumpPlan } from '../../activities/dump-manifest.ts';
import { nasLayout } from '../../activities/nas.ts';
import { dumpFileName, dumpManifestHeader, dumpManifestName } from '../../contracts/dump.ts';
import { contractFor } from '../../contracts/index.ts';
import { sodiwinDialect } from '../../contracts/types.ts';

/**
 * A historical dump is read with the inbox's discipline: every file its manifest names must be
 * a plain name directly in the dump directory, a regular file with one link, opened without
 * following a link; hashed, scanned and archived through that one descriptor. Anything else is
 * a typed error naming the file, and nothing behind a link is read.
 */
const canary = 'sekret-canary-dump-456';
const asOf = '2025-12-31';
const brandsFile = dumpFileName(contractFor('brands'), asOf, 1);
const brandsCsv = iconv.encode('CODE_MARQUE;NOM\r\nBONMAMAN;Bonne Maman\r\nLUSTUCRU;Lustucru\r\n', 'win1252');
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

let root: string;
let dumpDir: string;
let secret: string;
let nas: ReturnType<typeof nasLayout>;

/** A dump of one brands file, its manifest naming `files` (default: the brands file) with `sha` (default: the brands file's). */
async function writeDump(files: { name: string; sha?: string }[] = [{ name: brandsFile }]): Promise<void> {
  await rm(dumpDir, { recursive: true, force: true });
  await mkdir(dumpDir, { recursive: true });
  await writeFile(join(dumpDir, brandsFile), brandsCsv);
  const lines = [dumpManifestHeader.join(';'), ...files.map((f) => `${f.name};brands;2;${f.sha ?? sha256(brandsCsv)};31/12/2025`)];
  await writeFile(join(dumpDir, dumpManifestName(asOf)), iconv.encode(`${lines.join('\r\n')}\r\n`, 'win1252'));
}

/** The typed failure `promise` rejects with. */
async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApplicationFailure);
  const failure = error as ApplicationFailure;
  expect(failure.nonRetryable).toBe(true);
  expect(JSON.stringify({ message: failure.message, details: failure.details })).not.toContain(canary);
  return failure;
}

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const backfill = () =>
  createBackfillActivities({
    d1: {
      query: () => Promise.reject(new Error('no D1 in this test')),
      batch: () => Promise.reject(new Error('no D1 in this test')),
      first: () => Promise.reject(new Error('no D1 in this test')),
      scalar: () => Promise.reject(new Error('no D1 in this test')),
      import: () => Promise.reject(new Error('no D1 in this test')),
    },
    dialect: sodiwinDialect,
    nas,
  });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dump-files-'));
  dumpDir = join(root, 'dump');
  secret = join(root, 'etc', 'env');
  nas = nasLayout(join(root, 'nas'));
  await mkdir(join(root, 'etc'));
  await writeFile(secret, `CLOUDFLARE_API_TOKEN=${canary}\n`);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  await rm(nas.archive, { recursive: true, force: true });
});

describe('the dump manifest names only regular files inside the dump directory', () => {
  it('reads an ordinary dump', async () => {
    await writeDump();
    const plan = await readDumpManifest(dumpDir, sodiwinDialect);
    expect(plan.parts).toEqual([{ table: 'brands', file: brandsFile, rows: 2, sha256: sha256(brandsCsv) }]);
  });

  it.each([
    ['../etc/env', 'a path out of the dump directory'],
    ['..', 'its parent directory'],
    ['/etc/passwd', 'an absolute path'],
    ['sub/file.csv', 'a file in a folder'],
  ])('refuses FICHIER %s (%s) before reading anything, naming the manifest line and the value', async (name) => {
    await writeDump([{ name, sha: sha256(`CLOUDFLARE_API_TOKEN=${canary}\n`) }]);
    const failure = await failureOf(readDumpManifest(dumpDir, sodiwinDialect));
    expect(failure.type).toBe('NotARegularFile');
    expect(failure.message).toBe(
      `dump ${asOf} [${dumpManifestName(asOf)}, line 2, column FICHIER]: FICHIER is not a plain file name: a folder, "..", or an absolute path may point outside the dump directory ${dumpDir}, and only files directly inside it are read (nothing was read) (value "${name}")`,
    );
  });

  it('refuses a dump file that is a symbolic link, naming its path and where it points', async () => {
    await writeDump();
    await rm(join(dumpDir, brandsFile));
    await symlink(secret, join(dumpDir, brandsFile));
    const failure = await failureOf(readDumpManifest(dumpDir, sodiwinDialect));
    expect(failure.type).toBe('NotARegularFile');
    expect(failure.message).toBe(`brands ${asOf} [${brandsFile}]: ${join(dumpDir, brandsFile)} is a symbolic link to ${secret} (not followed); only a regular file inside the dump directory is read`);
  });

  it('refuses a dump file that is a hard link (it may be another name of a file outside), naming the link count', async () => {
    await writeDump();
    await rm(join(dumpDir, brandsFile));
    await link(secret, join(dumpDir, brandsFile));
    const failure = await failureOf(readDumpManifest(dumpDir, sodiwinDialect));
    expect(failure.type).toBe('NotARegularFile');
    expect(failure.message).toContain(`${join(dumpDir, brandsFile)} is a regular file with 2 hard links (another of its names may be a file outside the dump directory, so nothing of it was read)`);
  });

  it('refuses a manifest that is a symbolic link (its first line is never shown)', async () => {
    await writeDump();
    const manifest = join(dumpDir, dumpManifestName(asOf));
    await rm(manifest);
    await symlink(secret, manifest);
    const failure = await failureOf(readDumpManifest(dumpDir, sodiwinDialect));
    expect(failure.type).toBe('NotARegularFile');
    expect(failure.message).toContain(`${manifest} is a symbolic link to ${secret} (not followed)`);
  });

  it('refuses a dump file listed but absent, naming the manifest line', async () => {
    await writeDump([{ name: 'MARQUES_20251231_P002.csv' }]);
    const failure = await failureOf(readDumpManifest(dumpDir, sodiwinDialect));
    expect(failure.type).toBe('ExportMissing');
    expect(failure.message).toBe(`dump ${asOf} [${dumpManifestName(asOf)}, line 2, column FICHIER]: the manifest lists MARQUES_20251231_P002.csv, which is not in ${dumpDir} (value "MARQUES_20251231_P002.csv")`);
  });
});

describe('validating and archiving a dump read each file through one checked descriptor', () => {
  let plan: DumpPlan;
  const env = new MockActivityEnvironment();
  beforeEach(async () => {
    await writeDump();
    plan = await readDumpManifest(dumpDir, sodiwinDialect);
  });

  it('validates and archives an ordinary file: the archive holds the same bytes', async () => {
    const part = plan.parts[0]!;
    expect(await env.run(backfill().validateDumpPart, { dumpDir, asOf, part })).toEqual({ rows: 2, controlTotals: {} });
    const archived = (await env.run(backfill().archiveDump, { plan })) as DumpPlan;
    expect(archived.dumpDir).toBe(join(nas.archive, `dump-${asOf}`));
    expect(sha256(await readFile(join(archived.dumpDir, brandsFile)))).toBe(part.sha256);
  });

  it('refuses a file swapped for a link after the manifest was read: not validated, not archived, the secret copied nowhere', async () => {
    // An attacker who can write the dump directory links the secret under the planned name, with its sha256 in the plan.
    await rm(join(dumpDir, brandsFile));
    await symlink(secret, join(dumpDir, brandsFile));
    const part = { ...plan.parts[0]!, sha256: sha256(`CLOUDFLARE_API_TOKEN=${canary}\n`) };
    const validated = await failureOf(env.run(backfill().validateDumpPart, { dumpDir, asOf, part }));
    expect(validated.type).toBe('NotARegularFile');
    expect(validated.message).toContain(`${join(dumpDir, brandsFile)} is a symbolic link to ${secret} (not followed)`);
    const archived = await failureOf(env.run(backfill().archiveDump, { plan: { ...plan, parts: [part] } }));
    expect(archived.type).toBe('NotARegularFile');
    const imported = await failureOf(env.run(backfill().importDumpPart, { dumpDir, asOf, part, chunkRows: 10 }));
    expect(imported.type).toBe('NotARegularFile');

    await rm(join(dumpDir, brandsFile));
    await link(secret, join(dumpDir, brandsFile));
    const hardLinked = await failureOf(env.run(backfill().validateDumpPart, { dumpDir, asOf, part }));
    expect(hardLinked.message).toContain('is a regular file with 2 hard links');
    expect((await failureOf(env.run(backfill().archiveDump, { plan: { ...plan, parts: [part] } }))).type).toBe('NotARegularFile');

    for (const file of await filesUnder(join(root, 'nas'))) expect((await readFile(file)).includes(canary), file).toBe(false);
    expect(await filesUnder(nas.archive)).toEqual([]);
  });
});
