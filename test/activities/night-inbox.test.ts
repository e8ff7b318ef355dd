import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNightInboxActivities } from '../../activities/night-inbox.ts';
import { nasLayout, type NasLayout } from '../../activities/nas.ts';
import { contractFor } from '../../contracts/index.ts';
import { exportFileName } from '../../contracts/types.ts';

/** A business date whose export deadline (06:00 Paris the next day) is long past. */
const pastDate = '2026-06-15';
const tables = ['brands', 'depots'];

describe('awaitNightExport: is any of the night\'s exports in the inbox by the deadline?', () => {
  let root: string;
  let nas: NasLayout;
  const env = new MockActivityEnvironment();
  const activities = (deadline = { timeOfDay: '06:00', timeZone: 'Europe/Paris' }) => createNightInboxActivities({ nas, exportDeadline: deadline, pollMs: 50 });

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sodimo-night-inbox-'));
    nas = nasLayout(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('says the inbox folder is absent (a missing NAS mount), with the inbox and the deadline', async () => {
    expect(await env.run(activities().awaitNightExport, { businessDate: pastDate, tables })).toEqual({ arrived: false, inbox: nas.inbox, deadline: '2026-06-16T04:00:00.000Z', deadlineLocal: '2026-06-16 06:00 Europe/Paris', problem: 'absent', detail: expect.stringContaining('ENOENT') });
  });

  it('says the inbox holds no export of the night when it is empty or holds only other days', async () => {
    await mkdir(nas.inbox, { recursive: true });
    expect(await env.run(activities().awaitNightExport, { businessDate: pastDate, tables })).toMatchObject({ arrived: false, problem: 'no-export' });
    await writeFile(join(nas.inbox, exportFileName(contractFor('brands'), '2026-06-14')), 'CODE_MARQUE;NOM\r\n');
    await writeFile(join(nas.inbox, exportFileName(contractFor('stock'), pastDate)), 'x'); // not a table of this run
    expect(await env.run(activities().awaitNightExport, { businessDate: pastDate, tables })).toMatchObject({ arrived: false, problem: 'no-export' });
  });

  it('says the inbox is not a folder', async () => {
    await writeFile(nas.inbox, '');
    expect(await env.run(activities().awaitNightExport, { businessDate: pastDate, tables })).toMatchObject({ arrived: false, problem: 'not-a-directory', detail: expect.stringContaining('ENOTDIR') });
  });

  it('answers as soon as one file of the night is there: each table fetches its own from then on', async () => {
    await mkdir(nas.inbox, { recursive: true });
    await writeFile(join(nas.inbox, exportFileName(contractFor('depots'), pastDate)), 'partial');
    expect(await env.run(activities().awaitNightExport, { businessDate: pastDate, tables })).toEqual({ arrived: true, tables: ['depots'], deadlineLocal: '2026-06-16 06:00 Europe/Paris' });
  });

  it('waits, before the deadline, for the NAS to come back and the export to arrive', async () => {
    const deadline = new Date(Date.now() + 60_000);
    const businessDate = new Date(Date.UTC(deadline.getUTCFullYear(), deadline.getUTCMonth(), deadline.getUTCDate() - 1)).toISOString().slice(0, 10);
    const waiting = env.run(activities({ timeOfDay: deadline.toISOString().slice(11, 19), timeZone: 'UTC' }).awaitNightExport, { businessDate, tables });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await mkdir(nas.inbox, { recursive: true }); // the mount is back
    await writeFile(join(nas.inbox, exportFileName(contractFor('brands'), businessDate)), 'CODE_MARQUE;NOM\r\n');
    // The deadline as operators read it (for the fetches' summaries in the Web UI).
    expect(await waiting).toEqual({ arrived: true, tables: ['brands'], deadlineLocal: expect.stringMatching(new RegExp(`^${deadline.toISOString().slice(0, 16).replace('T', ' ')}(:\\d\\d)? UTC$`)) });
  });
});
