import { log } from '@temporalio/activity';
import type { D1Client } from '../d1/client.ts';

/** What the probe activities need. */
export interface ProbeDeps {
  d1: Pick<D1Client, 'query' | 'batch'>;
}

/** Input of a warehouse probe: a caller-chosen id and a note to store. */
export interface ProbeInput {
  probeId: string;
  note: string;
}

/** What the probe read back from the warehouse after writing. */
export interface ProbeResult {
  probeId: string;
  note: string;
  writtenAt: string;
  probesInWarehouse: number;
}

/**
 * Activities that prove the wiring: write one row to D1 over its REST API and read
 * it back. Idempotent, so a retried activity leaves one row per probe id.
 */
export const createProbeActivities = (deps: ProbeDeps) => ({
  async writeAndReadProbe(input: ProbeInput): Promise<ProbeResult> {
    const writtenAt = new Date().toISOString();
    await deps.d1.batch([
      { sql: 'CREATE TABLE IF NOT EXISTS etl_probe (probe_id TEXT PRIMARY KEY, note TEXT NOT NULL, written_at TEXT NOT NULL)' },
      { sql: 'INSERT INTO etl_probe (probe_id, note, written_at) VALUES (?, ?, ?) ON CONFLICT (probe_id) DO UPDATE SET note = excluded.note', params: [input.probeId, input.note, writtenAt] },
    ]);
    const [row] = await deps.d1.query<{ probe_id: string; note: string; written_at: string; probes: number }>(
      'SELECT probe_id, note, written_at, (SELECT count(*) FROM etl_probe) AS probes FROM etl_probe WHERE probe_id = ?',
      [input.probeId],
    );
    const found = row?.results[0];
    if (!found) throw new Error(`probe ${input.probeId} was written to D1 but could not be read back`);
    log.info('warehouse probe written and read back', { probeId: found.probe_id });
    return { probeId: found.probe_id, note: found.note, writtenAt: found.written_at, probesInWarehouse: found.probes };
  },
});
