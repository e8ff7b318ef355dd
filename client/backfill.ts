import { createControlStore, type ControlD1 } from '../activities/control-store.ts';
import { resolve } from 'node:path';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { readDumpManifest, type DumpPlan } from '../activities/dump-manifest.ts';
import { backfillLoadId, backfillWorkflowId } from '../history/backfill.ts';
import type { Config } from '../worker/config.ts';
import { backfill, backfillProgressQuery, type BackfillProgress, type BackfillResult } from '../workflows/index.ts';
import { formatBackfillProgress, RateMeter } from './backfill-progress.ts';

/** A backfill started, or the running one attached to. */
export interface BackfillHandle {
  plan: DumpPlan;
  workflowId: string;
  /** True when a backfill of this dump was already running: this command attached to it. */
  attached: boolean;
  handle: WorkflowHandle<typeof backfill>;
}

/**
 * Starts `backfill-<as-of>` on the dump in `dumpDir`, or attaches to it when it is running
 * (one backfill per dump). The manifest is read here first, so a missing or malformed dump is
 * refused before anything starts.
 */
export async function startBackfill(client: Client, config: Config, dumpDir: string, options: { chunkRows?: number; filesPerRun?: number } = {}): Promise<BackfillHandle> {
  const dir = resolve(dumpDir);
  const plan = await readDumpManifest(dir, config.load.dialect);
  const workflowId = backfillWorkflowId(plan.asOf);
  const running = await client.workflow
    .getHandle(workflowId)
    .describe()
    .then((d) => d.status.name === 'RUNNING')
    .catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    });
  await client.workflow.start(backfill, {
    workflowId,
    taskQueue: config.temporal.taskQueue,
    args: [{ dumpDir: dir, ...options }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  // Without a run id the handle follows the chain of continue-as-new runs to the latest.
  return { plan, workflowId, attached: running, handle: client.workflow.getHandle<typeof backfill>(workflowId) };
}

/** Rows of the dump's tables already in D1: the sum of the imported chunks' markers. */
export async function rowsImported(d1: ControlD1, plan: DumpPlan): Promise<number> {
  const loadIds = [...new Set(plan.parts.map((p) => backfillLoadId(plan.asOf, p.table)))];
  try {
    return await createControlStore(d1).backfillChunks.rowsImported(loadIds);
  } catch {
    return 0; // the control schema is not there yet (the backfill is still reading its manifest)
  }
}

/**
 * Waits for the backfill to end, calling `onProgress` with a progress line every `everyMs`:
 * the workflow's phase and files from its query, the rows from D1, rows/s over the last
 * 30 s and the ETA. Resolves to the result, or rejects with the workflow's failure.
 */
export async function followBackfill(started: BackfillHandle, d1: ControlD1, onProgress: (line: string, progress: BackfillProgress) => void, everyMs = 1000): Promise<BackfillResult> {
  const meter = new RateMeter();
  let settled = false;
  const result = started.handle.result().finally(() => (settled = true));
  result.catch(() => undefined); // observed below
  while (!settled) {
    const progress = await started.handle.query(backfillProgressQuery).catch(() => undefined); // between two runs of the chain
    if (progress) {
      const rows = await rowsImported(d1, started.plan);
      meter.add({ at: Date.now(), rows });
      onProgress(formatBackfillProgress(progress, rows, progress.phase === 'importing' ? meter.rowsPerSecond() : undefined), progress);
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, everyMs))]);
  }
  return result;
}
