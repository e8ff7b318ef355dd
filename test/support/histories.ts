import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findTemporalCli } from '../../client/dev/temporal-cli.ts';

/**
 * Saves workflow histories as the JSON `temporal workflow show --output json` writes
 * (the format `historyFromJSON` reads), one file per workflow id, for replay tests.
 */
export async function saveHistories(server: { address: string; namespace: string }, workflowIds: string[], dir: string): Promise<string[]> {
  const cli = findTemporalCli();
  if (!cli) throw new Error('recording histories needs the Temporal CLI (scripts/temporal-cli.sh provides it)');
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const workflowId of workflowIds) {
    const { stdout } = await promisify(execFile)(cli, ['workflow', 'show', '--workflow-id', workflowId, '--address', server.address, '--namespace', server.namespace, '--output', 'json'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const path = join(dir, `${workflowId}.json`);
    await writeFile(path, stdout.endsWith('\n') ? stdout : `${stdout}\n`);
    written.push(path);
  }
  return written;
}
