import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { inject, describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createD1Client } from '../../d1/client.ts';
import { createWarehouseWorker } from '../../worker/create-worker.ts';
import { warehouseProbe } from '../../workflows/index.ts';
import { testConfig, uniqueName } from '../support/environment.ts';

describe('warehouseProbe on a real Temporal dev server and the local D1 service', () => {
  const config = testConfig();
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    connection = await Connection.connect({ address: config.temporal.address });
    client = new Client({ connection, namespace: config.temporal.namespace });
  });
  afterAll(async () => {
    await connection.close();
  });

  it('runs an activity that writes a row to D1 and reads it back', async () => {
    const code = await readFile(inject('workflowBundlePath'), 'utf8');
    const { worker, connection: workerConnection } = await createWarehouseWorker({ config, workflowBundle: { code } });
    const probeId = uniqueName('probe');
    const note = 'Crème brûlée ; « Sodimo » — 1 234,50 €';
    try {
      const result = await worker.runUntil(
        client.workflow.execute(warehouseProbe, { workflowId: probeId, taskQueue: config.temporal.taskQueue, args: [{ probeId, note }] }),
      );
      expect(result.probeId).toBe(probeId);
      expect(result.note).toBe(note);

      // The row is in D1, seen through an independent client, exactly once.
      const d1 = createD1Client({ ...config.d1 });
      const [read] = await d1.query<{ note: string; n: number }>('SELECT note, count(*) AS n FROM etl_probe WHERE probe_id = ?', [probeId]);
      expect(read?.results).toEqual([{ note, n: 1 }]);

      // Temporal recorded the activity in the workflow's history.
      const history = await client.workflow.getHandle(probeId).fetchHistory();
      const scheduled = history.events?.filter((e) => e.activityTaskScheduledEventAttributes) ?? [];
      expect(scheduled.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)).toEqual(['writeAndReadProbe']);
    } finally {
      await workerConnection.close();
    }
  });
});
