import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { contractFor, tableContracts } from '../contracts/index.ts';
import { createD1Client } from '../d1/client.ts';
import { startLocalD1Service } from '../d1/local-service/server.ts';
import type { Config } from '../worker/config.ts';
import { createWarehouseWorker } from '../worker/create-worker.ts';
import { backfill, rebuild, type RebuildLoad, type RebuildResult } from '../workflows/index.ts';
import { createControlStore, type ControlD1 } from '../activities/control-store.ts';
import { tableChecksum, type TableChecksum } from './checksum.ts';
import { whilePending } from './progress.ts';

/** One table's checksums, live and rebuilt. */
export interface TableComparison {
  table: string;
  live: TableChecksum;
  rebuilt: TableChecksum;
  same: boolean;
}

/** What a rebuild found. */
export interface RebuildReport {
  loads: number;
  result: RebuildResult;
  tables: TableComparison[];
  /** The scratch warehouse, when kept. */
  scratchDir?: string;
  /** The kept scratch warehouse's SQLite database file, which any SQLite tool opens (`sqlite3 FILE`). */
  scratchDatabase?: string;
}

/** The SQLite file of the one database a local D1 service persisted under `dataDir`. */
async function persistedDatabase(dataDir: string): Promise<string | undefined> {
  const dir = join(dataDir, 'persist', 'miniflare-D1DatabaseObject');
  const files = await readdir(dir).catch(() => [] as string[]);
  const database = files.find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  return database ? join(dir, database) : undefined;
}

/** The verified loads of the live warehouse, in date order: what the archive must reproduce. */
export async function archivedLoads(d1: ControlD1, table?: string): Promise<RebuildLoad[]> {
  const rows = await createControlStore(d1).loads.verifiedArchived(table);
  return rows.map((r) => ({ table: r.table_name, businessDate: r.business_date, fileName: r.file_name, archivePath: r.archive_path }));
}

/** The archived historical dump the live warehouse was backfilled from, if any (its directory under archive/). */
export async function archivedDump(d1: ControlD1): Promise<string | undefined> {
  return createControlStore(d1).loads.backfillArchive();
}

/** `[#####.....] 12/40 loads`. */
function loadsBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.min(width, Math.floor((done / total) * width)) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} loads`;
}

/**
 * `warehouse rebuild`: replays the archive into a fresh local D1 service (a scratch
 * warehouse under var/), with the same workflows and activities on a private task queue
 * and a worker in this process, then compares every table's checksum with the live
 * warehouse. The scratch worker sends no mail and opens no incident.
 */
export async function rebuildAndCompare(input: {
  config: Config;
  client: Client;
  table?: string;
  keep?: boolean;
  datesPerRun?: number;
  /** A line to keep (what is replayed, and where). */
  onProgress?: (line: string) => void;
  /** The stage reached, redrawn as it moves (loads replayed so far, the table compared): a progress line. */
  onStatus?: (line: string) => void;
}): Promise<RebuildReport> {
  const { config } = input;
  const live = createD1Client(config.d1);
  const loads = await archivedLoads(live, input.table);
  await mkdir(config.paths.varDir, { recursive: true });
  const scratchDir = await mkdtemp(join(config.paths.varDir, 'rebuild-'));
  const service = await startLocalD1Service({ dataDir: join(scratchDir, 'd1'), apiToken: randomBytes(16).toString('hex') });
  try {
    const scratchConfig: Config = {
      ...config,
      d1: { ...config.d1, baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken, isLocal: true },
      temporal: { ...config.temporal, taskQueue: `rebuild-${randomUUID()}` },
      paths: { ...config.paths, nasDir: join(scratchDir, 'nas') },
      mail: { ...config.mail, smtpUrl: undefined, mailDir: join(scratchDir, 'mail') },
    };
    const bundle = config.paths.workflowBundle ? { code: await readFile(config.paths.workflowBundle, 'utf8') } : undefined;
    const { worker, connection } = await createWarehouseWorker({ config: scratchConfig, ...(bundle ? { workflowBundle: bundle } : {}) });
    const dump = await archivedDump(live);
    input.onProgress?.(`replaying ${dump ? `the historical dump (${dump}) and ` : ''}${loads.length} archived loads into a scratch warehouse (${scratchDir})`);
    const scratch = createD1Client(scratchConfig.d1);
    const scratchStore = createControlStore(scratch);
    const status = input.onStatus ?? (() => undefined);
    let result: RebuildResult;
    try {
      result = await worker.runUntil(async () => {
        const taskQueue = scratchConfig.temporal.taskQueue;
        if (dump) {
          status(`rebuild: importing the historical dump ${dump}…`);
          await input.client.workflow.execute(backfill, { workflowId: `rebuild-backfill-${randomUUID()}`, taskQueue, args: [{ dumpDir: dump }] });
        }
        const replaying = input.client.workflow.execute(rebuild, { workflowId: `rebuild-${randomUUID()}`, taskQueue, args: [{ loads, ...(input.datesPerRun ? { datesPerRun: input.datesPerRun } : {}) }] });
        // The scratch warehouse's verified loads are the loads replayed so far (none until its schema exists).
        return whilePending(replaying, async () => status(`rebuild: replaying ${loadsBar(await scratchStore.loads.verifiedNightlyCount(), loads.length)}`));
      });
    } finally {
      await connection.close().catch(() => undefined);
    }
    const contracts = input.table ? [contractFor(input.table)] : tableContracts;
    const tables: TableComparison[] = [];
    for (const [i, contract] of contracts.entries()) {
      status(`rebuild: comparing checksums ${i + 1}/${contracts.length} ${contract.table}`);
      const [liveSum, rebuiltSum] = [await tableChecksum(live, contract), await tableChecksum(scratch, contract)];
      tables.push({ table: contract.table, live: liveSum, rebuilt: rebuiltSum, same: JSON.stringify(liveSum) === JSON.stringify(rebuiltSum) });
    }
    const scratchDatabase = input.keep ? await persistedDatabase(join(scratchDir, 'd1')) : undefined;
    return { loads: loads.length, result, tables, ...(input.keep ? { scratchDir } : {}), ...(scratchDatabase ? { scratchDatabase } : {}) };
  } finally {
    await service.close();
    if (!input.keep) await rm(scratchDir, { recursive: true, force: true });
  }
}
