import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchActivities, type FetchDeps, type FetchedExport, type NotReadyExport } from '../../activities/fetch.ts';
import { nasLayout, type NasLayout } from '../../activities/nas.ts';
import { applyMigrations } from '../../activities/schema.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName, sodiwinDialect } from '../../contracts/types.ts';
import { createD1Client } from '../../d1/client.ts';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';

/**
 * fetchReadyExport, a load's first look at its file (a local activity): it takes a file that is
 * there and complete as fetchExport takes it, and answers `notReady` at once for one that is not
 * there yet or still being written, however far the deadline, so the load waits in fetchExport.
 */
const businessDate = '2028-10-02'; // its deadline (06:00 Paris the next morning) is years ahead
const contract = contractFor('brands');
const fileName = exportFileName(contract, businessDate);

let root: string;
let nas: NasLayout;
let service: LocalD1Service;
let deps: FetchDeps;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sodimo-fetch-ready-'));
  nas = nasLayout(root);
  await mkdir(nas.inbox, { recursive: true });
  service = await startLocalD1Service({ dataDir: join(root, 'd1'), apiToken: randomBytes(16).toString('hex') });
  const d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken });
  await applyMigrations(d1);
  // A poll far longer than the test: an answer that came, came without waiting for the file.
  deps = { d1, nas, stableForMs: 300, exportDeadline: { timeOfDay: '06:00', timeZone: 'Europe/Paris' }, pollMs: 600_000, dialect: sodiwinDialect };
}, 60_000);
afterAll(async () => {
  await service?.close();
  await rm(root, { recursive: true, force: true });
});

const firstLook = (): Promise<FetchedExport | NotReadyExport> => new MockActivityEnvironment().run(createFetchActivities(deps).fetchReadyExport, { table: contract.table, businessDate });

describe("a load's first look at its file", () => {
  it('answers at once that a file not there yet is not ready', async () => {
    const started = Date.now();
    expect(await firstLook()).toEqual({ notReady: 'not there yet' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('answers that a file still being written is not ready, with its two sizes', async () => {
    const path = join(nas.inbox, fileName);
    await writeFile(path, 'CODE_MARQUE;LIBELLE\r\n');
    const looking = firstLook();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await appendFile(path, 'B01;Sodimo\r\n');
    expect(await looking).toEqual({ notReady: 'still being written (21 bytes, then 33)' });
    await rm(path);
  });

  it('takes a complete file as fetchExport does: archived by its checksum, not loaded yet', async () => {
    const text = Buffer.from('CODE_MARQUE;LIBELLE;PAYS\r\nB01;Sodimo;FR\r\n', 'latin1');
    await writeFile(join(nas.inbox, fileName), text);
    const sha256 = createHash('sha256').update(text).digest('hex');
    const fetched = await firstLook();
    expect(fetched).toMatchObject({ fileName, sha256, bytes: text.length, alreadyLoaded: false });
    expect('archivePath' in fetched && (await readFile(fetched.archivePath)).equals(text)).toBe(true);
    await rm(join(nas.inbox, fileName));
  });

  it('refuses a link in the inbox as fetchExport does, without following it', async () => {
    await symlink('/etc/passwd', join(nas.inbox, fileName));
    const failure = await firstLook().then(() => undefined, (error: unknown) => error as Error & { type?: string });
    expect(failure?.type).toBe('NotARegularFile');
    expect(failure?.message).toBe(`brands ${businessDate} [${fileName}]: ${join(nas.inbox, fileName)} is a symbolic link to /etc/passwd (not followed); only a regular file inside the inbox is read`);
    await rm(join(nas.inbox, fileName));
  });
});
