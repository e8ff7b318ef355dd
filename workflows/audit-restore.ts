import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { shortActivity } from './activity-profiles.ts';

const { captureAuditTrail, restoreWarehouse, rewriteAuditTrail } = proxyActivities<Activities>(shortActivity);

/**
 * Restores the whole warehouse to a bookmark (D1 Time Travel) without losing the audit
 * trail: the incidents, approval decisions and sign-offs written since the bookmark are read
 * first (kept in this workflow's history, which the restore cannot reach) and written back
 * after. The caller makes sure it records no decision meanwhile, and holds the warehouse
 * lease exclusive (lease-holder.ts) from choosing the point to its last replay, so no load
 * runs on a warehouse being replaced.
 */
export async function restoreKeepingAuditTrail(point: { bookmark: string; takenAt: string }): Promise<void> {
  const trail = await captureAuditTrail({ since: point.takenAt });
  await restoreWarehouse({ bookmark: point.bookmark });
  await rewriteAuditTrail({ trail });
}
