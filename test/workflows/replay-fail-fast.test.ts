import { rename } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateExports } from '../../generator/index.ts';
import { archivedLoads, rebuildAndCompare } from '../../client/rebuild.ts';
import { childWorkflowId } from '../../workflows/messages.ts';
import { testConfig } from '../support/environment.ts';
import { runNight, startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

// Dates no other test file uses: nightly ids are shared by every test on the one Temporal server.
const days = ['2027-04-05', '2027-04-06', '2027-04-07'];

/** The child workflows a workflow started, from its history, and how each ended. */
async function childrenOf(warehouse: IsolatedWarehouse, workflowId: string): Promise<{ workflowId: string; status: string }[]> {
  const history = await warehouse.client.workflow.getHandle(workflowId).fetchHistory();
  const ids = (history.events ?? []).flatMap((e) => (e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ? [e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId] : []));
  return Promise.all(ids.map(async (id) => ({ workflowId: id, status: (await warehouse.client.workflow.getHandle(id).describe()).status.name })));
}

describe('fail-fast replays (replayLoads): a replayed load that fails stops the replay, the loads running end first', () => {
  let warehouse: IsolatedWarehouse;
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    warehouse = await startIsolatedWarehouse();
    await generateExports({ outDir: warehouse.inbox, from: days[0]!, days: days.length, scale: 0.2, seed: 41 });
    worker = await startWorker(warehouse.config);
    for (const day of days) expect((await runNight(warehouse, day)).status).toBe('ok');
    env = { ...warehouse.env, WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath') };
  });
  afterAll(async () => {
    await worker?.stop();
    await warehouse?.close();
  });

  it('a rebuild whose archived file of the second day is gone: that load fails, no later load starts, nothing is left running', async () => {
    const loads = await archivedLoads(warehouse.d1);
    expect(loads).toHaveLength(39);
    // The first table of the second day (the rebuild replays a date's tables in this order, four at a time).
    const broken = loads.find((l) => l.businessDate === days[1])!;
    await rename(broken.archivePath, `${broken.archivePath}.moved`);
    const startedAt = new Date();

    const report = await rebuildAndCompare({ config: testConfig(env), client: warehouse.client });

    expect(report.result.failures).toEqual([{ table: broken.table, businessDate: days[1], errorType: 'ExportMissing', message: expect.stringContaining('is gone') }]);
    expect(report.result.replayed).toBeGreaterThanOrEqual(13); // the whole first day
    expect(report.result.replayed).toBeLessThanOrEqual(13 + 3); // at most the three lanes running beside the failure
    expect(report.result.replayed + report.result.failures.length + (report.result.notReplayed ?? 0)).toBe(39);

    // The rebuild's own history: which children it started, and that each had ended (none terminated or running).
    const rebuilds: string[] = [];
    for await (const w of warehouse.client.workflow.list({ query: `WorkflowType = 'rebuild' AND StartTime > '${startedAt.toISOString()}'` })) rebuilds.push(w.workflowId);
    const mine = [];
    for (const id of rebuilds) {
      const children = await childrenOf(warehouse, id);
      if (children.some((c) => c.workflowId === childWorkflowId(id, broken.table, days[1]!))) mine.push(children);
    }
    expect(mine).toHaveLength(1);
    const children = mine[0]!;
    expect(children.filter((c) => c.workflowId.endsWith(`-${days[2]}`))).toEqual([]);
    expect(children.filter((c) => c.workflowId.endsWith(`-${days[1]}`)).length).toBe(39 - 13 - (report.result.notReplayed ?? 0));
    expect(children.filter((c) => c.status !== 'COMPLETED' && c.status !== 'FAILED')).toEqual([]);
    expect(children.filter((c) => c.status === 'FAILED').map((c) => c.workflowId)).toEqual([expect.stringMatching(new RegExp(`-${broken.table}-${days[1]}$`))]);
  }, 300_000);
});
