import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ProbeInput, ProbeResult } from '../activities/probe.ts';
import { shortActivity } from './activity-profiles.ts';

const { writeAndReadProbe } = proxyActivities<Activities>(shortActivity);

/** Proves the wiring end to end: Temporal runs an activity that writes to D1 and reads it back. */
export async function warehouseProbe(input: ProbeInput): Promise<ProbeResult> {
  return writeAndReadProbe(input);
}
