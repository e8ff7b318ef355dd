import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log } from '@temporalio/activity';
import type { D1Client } from '../d1/client.ts';
import { unfetchedLoadId, type NasLayout } from './nas.ts';

/** What quarantining needs. */
export interface QuarantineDeps {
  d1: Pick<D1Client, 'query'>;
  nas: NasLayout;
}

/** A table's export that failed, and why. */
export interface QuarantineInput {
  table: string;
  businessDate: string;
  workflowId: string;
  errorType: string;
  message: string;
  /** The error's details (position, first rejected rows) when it has them. */
  details?: unknown;
  /** Absent when there was no file to fetch. */
  fetched?: { loadId: string; fileName: string; archivePath: string; sha256: string };
}

/** Where the quarantined file and its reason are. */
export interface QuarantineResult {
  dir: string;
  reasonPath: string;
  filePath?: string;
}

/**
 * Sets a failed export aside: a copy of the archived file (the archive itself is never
 * touched) and `reason.json` in `quarantine/<date>/<table>/`, and the load marked
 * `quarantined`. The previous day's data stays authoritative. Idempotent.
 */
export const createQuarantineActivities = (deps: QuarantineDeps) => ({
  async quarantineExport(input: QuarantineInput): Promise<QuarantineResult> {
    const dir = join(deps.nas.quarantine, input.businessDate, input.table);
    await mkdir(dir, { recursive: true });
    const filePath = input.fetched ? join(dir, input.fetched.fileName) : undefined;
    if (input.fetched && filePath) await copyFile(input.fetched.archivePath, filePath);
    const reasonPath = join(dir, 'reason.json');
    const reason = {
      table: input.table,
      businessDate: input.businessDate,
      file: input.fetched?.fileName ?? null,
      sha256: input.fetched?.sha256 ?? null,
      archivedAt: input.fetched?.archivePath ?? null,
      loadId: input.fetched?.loadId ?? null,
      errorType: input.errorType,
      message: input.message,
      details: input.details ?? null,
      workflowId: input.workflowId,
      quarantinedAt: new Date().toISOString(),
    };
    await writeFile(reasonPath, `${JSON.stringify(reason, null, 2)}\n`);
    await deps.d1.query("UPDATE etl_loads SET status = 'quarantined' WHERE load_id = ?", [input.fetched?.loadId ?? unfetchedLoadId(input.businessDate, input.table)]);
    log.warn('export quarantined', { table: input.table, businessDate: input.businessDate, errorType: input.errorType, dir });
    return { dir, reasonPath, ...(filePath ? { filePath } : {}) };
  },
});
