import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { log } from '@temporalio/activity';
import { whileHeartbeating } from './keep-alive.ts';
import { etlFailure } from '../common/errors.ts';
import { contractFor } from '../contracts/index.ts';
import { exportFileName } from '../contracts/types.ts';
import type { D1Client } from '../d1/client.ts';
import { archivePathFor, loadIdFor, type NasLayout } from './nas.ts';

/** What fetching needs. */
export interface FetchDeps {
  d1: Pick<D1Client, 'query'>;
  nas: NasLayout;
  /** A file must keep the same size this long before it is taken (Sodiwin may still be writing it). */
  stableForMs: number;
}

/** Which export to fetch. */
export interface FetchInput {
  table: string;
  businessDate: string;
}

/** The archived export, or the news that this exact file is already loaded. */
export interface FetchedExport {
  fileName: string;
  archivePath: string;
  sha256: string;
  bytes: number;
  loadId: string;
  /** True when a load of this same file (same sha256) for this date is already verified: nothing to do. */
  alreadyLoaded: boolean;
}

/** fetch: find the table's file for the date in the inbox, wait until it is complete, archive it by checksum. */
export const createFetchActivities = (deps: FetchDeps) => ({
  fetchExport(input: FetchInput): Promise<FetchedExport> {
    return whileHeartbeating(async () => {
      const contract = contractFor(input.table);
      const fileName = exportFileName(contract, input.businessDate);
      const source = join(deps.nas.inbox, fileName);
      const details = { table: input.table, businessDate: input.businessDate, file: fileName };

      const bytes = await waitUntilStable(source, deps.stableForMs);
      if (bytes === undefined) throw etlFailure('ExportMissing', `no export file ${fileName} in ${deps.nas.inbox}`, details);

      const sha256 = await sha256Of(source);
      const archivePath = archivePathFor(deps.nas, input.businessDate, input.table, sha256);
      if ((await stat(archivePath).catch(() => undefined))?.size !== bytes) {
        await mkdir(dirname(archivePath), { recursive: true });
        const partial = `${archivePath}.partial`;
        await copyFile(source, partial);
        if ((await sha256Of(partial)) !== sha256) throw etlFailure('ExportIncomplete', 'the file changed while it was being archived', details);
        await rename(partial, archivePath);
      }

      const loadId = loadIdFor(input.businessDate, input.table, sha256);
      const [loaded] = await deps.d1.query<{ n: number }>(
        "SELECT count(*) AS n FROM etl_loads WHERE load_id = ? AND status = 'verified'",
        [loadId],
      );
      const alreadyLoaded = (loaded?.results[0]?.n ?? 0) > 0;
      log.info('export fetched', { table: input.table, businessDate: input.businessDate, fileName, bytes, sha256, alreadyLoaded });
      return { fileName, archivePath, sha256, bytes, loadId, alreadyLoaded };
    });
  },
});

/** The file's size once it has not changed for `stableForMs`, or undefined when it does not exist. */
async function waitUntilStable(path: string, stableForMs: number): Promise<number | undefined> {
  let size = (await stat(path).catch(() => undefined))?.size;
  if (size === undefined) return undefined;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, stableForMs));
    const now = (await stat(path).catch(() => undefined))?.size;
    if (now === undefined) return undefined;
    if (now === size) return size;
    size = now;
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
