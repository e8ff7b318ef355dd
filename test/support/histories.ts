import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

/**
 * Saves the histories of a nightly run and of its children as JSON files in `dir`,
 * named by workflow type, for replay tests.
 */
export async function saveHistories(client: Client, workflowIds: string[], dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const workflowId of workflowIds) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const path = join(dir, `${workflowId}.json`);
    await writeFile(path, `${historyToJSON(history)}\n`);
    written.push(path);
  }
  return written;
}
