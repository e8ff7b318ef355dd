import { log } from '@temporalio/activity';
import type { D1Client } from '../d1/client.ts';
import { createControlStore } from './control-store.ts';

/** What the probe activities need. */
export interface ProbeDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first'>;
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
    const found = await createControlStore(deps.d1).probe.writeAndRead(input.probeId, input.note);
    if (!found) throw new Error(`probe ${input.probeId} was written to D1 but could not be read back`);
    log.info('warehouse probe written and read back', { probeId: found.probe_id });
    return { probeId: found.probe_id, note: found.note, writtenAt: found.written_at, probesInWarehouse: found.probes };
  },
});
