import { constants } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { log } from '@temporalio/activity';
import type { D1Client } from '../d1/client.ts';
import { createControlStore } from './control-store.ts';
import { failureRecordFor } from './failure-record.ts';
import { openRegularFile, unfetchedLoadId, type NasLayout } from './nas.ts';

/** What quarantining needs. */
export interface QuarantineDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first'>;
  nas: NasLayout;
}

/** A table's export that failed, and why. */
export interface QuarantineInput {
  table: string;
  businessDate: string;
  workflowId: string;
  errorType: string;
  message: string;
  /** The error's details (position, first rejected rows) when it has them; capped, with `fullDetailFile` when the full ones were kept. */
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
 * `quarantined`. The previous day's data stays authoritative. Idempotent. The failure came
 * through the history capped; reason.json gets what the failing step recorded
 * (`recordingFailures`): the step, the load id, the full message and details (every
 * rejected row, each measure of a reconciliation) and, for a D1 error, what D1 answered.
 */
export const createQuarantineActivities = (deps: QuarantineDeps) => ({
  async quarantineExport(input: QuarantineInput): Promise<QuarantineResult> {
    const dir = join(deps.nas.quarantine, input.businessDate, input.table);
    await mkdir(dir, { recursive: true });
    const filePath = input.fetched ? join(dir, input.fetched.fileName) : undefined;
    if (input.fetched && filePath) await copyArchived(input.fetched.archivePath, filePath);
    const reasonPath = join(dir, 'reason.json');
    const full = await failureRecordFor(deps.nas, { ...input, ...(input.fetched ? { loadId: input.fetched.loadId } : {}) });
    const reason = {
      table: input.table,
      businessDate: input.businessDate,
      file: input.fetched?.fileName ?? full?.file ?? null,
      sha256: input.fetched?.sha256 ?? null,
      archivedAt: input.fetched?.archivePath ?? null,
      loadId: input.fetched?.loadId ?? full?.loadId ?? null,
      step: full?.step ?? null,
      errorType: input.errorType,
      message: full?.message ?? input.message,
      details: full?.details ?? input.details ?? null,
      ...(full?.d1 ? { d1: full.d1 } : {}),
      ...(full?.activity ? { activity: full.activity, attempt: full.attempt } : {}),
      workflowId: input.workflowId,
      quarantinedAt: new Date().toISOString(),
    };
    await writeFile(reasonPath, `${JSON.stringify(reason, null, 2)}\n`);
    await createControlStore(deps.d1).loads.mark(input.fetched?.loadId ?? unfetchedLoadId(input.businessDate, input.table), 'quarantined');
    log.warn('export quarantined', { table: input.table, businessDate: input.businessDate, errorType: input.errorType, dir });
    return { dir, reasonPath, ...(filePath ? { filePath } : {}) };
  },
});

/** The archived file copied to the quarantine, read without following a link (the archive is ours; a link there is damage). */
async function copyArchived(archivePath: string, target: string): Promise<void> {
  const opened = await openRegularFile(archivePath);
  if ('notRegular' in opened) throw new Error(`the archived file ${archivePath} is ${opened.notRegular}, not a regular file`);
  try {
    const out = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    await pipeline(opened.handle.createReadStream({ start: 0, autoClose: false }), out.createWriteStream());
  } finally {
    await opened.handle.close();
  }
}
