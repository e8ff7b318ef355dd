import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { inject } from 'vitest';
import { findTemporalCli } from '../../client/dev/temporal-cli.ts';

/**
 * Saves workflow histories as the JSON `temporal workflow show --output json` writes
 * (the format `historyFromJSON` reads), one file per workflow id (and `variant`), for replay tests.
 */
export async function saveHistories(server: { address: string; namespace: string }, workflowIds: string[], dir: string, variant?: string): Promise<string[]> {
  const cli = findTemporalCli();
  if (!cli) throw new Error('recording histories needs the Temporal CLI (scripts/temporal-cli.sh provides it)');
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const workflowId of workflowIds) {
    const { stdout } = await promisify(execFile)(cli, ['workflow', 'show', '--workflow-id', workflowId, '--address', server.address, '--namespace', server.namespace, '--output', 'json'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    // `<id>~<variant>.json`: another history of the same workflow id (the replay test strips the variant).
    const path = join(dir, `${workflowId}${variant ? `~${variant}` : ''}.json`);
    await writeFile(path, stdout.endsWith('\n') ? stdout : `${stdout}\n`);
    written.push(path);
  }
  return written;
}

/**
 * With RECORD_HISTORIES set, saves the histories of up to `limit` workflows of `workflowType`
 * on this warehouse's task queue (newest first), for the replay tests; otherwise does nothing.
 * `status` narrows them, e.g. 'Completed' or 'Running' (a long-lived workflow's history so far).
 */
export async function recordHistoriesOf(
  warehouse: { client: Client; config: { temporal: { taskQueue: string } } },
  workflowType: string,
  options: { status?: 'Completed' | 'Running'; limit?: number; idPattern?: RegExp; variant?: string; anyTaskQueue?: boolean } = {},
): Promise<void> {
  const dir = process.env.RECORD_HISTORIES;
  if (!dir) return;
  const clauses = [
    `WorkflowType = '${workflowType}'`,
    // A rebuild runs on a scratch task queue of its own: anyTaskQueue with an idPattern finds it.
    ...(options.anyTaskQueue ? [] : [`TaskQueue = '${warehouse.config.temporal.taskQueue}'`]),
    ...(options.status ? [`ExecutionStatus = '${options.status}'`] : []),
  ];
  const ids: string[] = [];
  for await (const execution of warehouse.client.workflow.list({ query: clauses.join(' AND ') })) {
    if (options.idPattern && !options.idPattern.test(execution.workflowId)) continue;
    if (!ids.includes(execution.workflowId)) ids.push(execution.workflowId);
    if (ids.length >= (options.limit ?? 1)) break;
  }
  if (ids.length === 0) throw new Error(`RECORD_HISTORIES: no ${workflowType} workflow on task queue ${warehouse.config.temporal.taskQueue}`);
  await saveHistories(inject('temporal'), ids, dir, options.variant);
}
