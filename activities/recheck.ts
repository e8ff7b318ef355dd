import { join } from 'node:path';
import { log } from '@temporalio/activity';
import type { D1Client } from '../d1/client.ts';
import { createControlStore } from './control-store.ts';
import { sha256Of } from './fetch.ts';
import type { NasLayout } from './nas.ts';

/** What the late-correction check needs. */
export interface RecheckDeps {
  d1: Pick<D1Client, 'query' | 'batch' | 'first'>;
  nas: NasLayout;
}

/** A loaded day whose export in the inbox is no longer the file that was loaded. */
export interface ChangedExport {
  table: string;
  businessDate: string;
  fileName: string;
  loadedSha256: string;
  inboxSha256: string;
}

/**
 * Late corrections (T-1 re-check): Sodiwin may re-export an earlier day. A verified load
 * whose file in the inbox now has another sha256 is a correction; the table must be
 * rewound to before that day and replayed (workflows/recheck.ts).
 */
export const createRecheckActivities = (deps: RecheckDeps) => ({
  async changedExports(input: { fromDate: string; toDate: string; tables?: string[] }): Promise<ChangedExport[]> {
    const loads = await createControlStore(deps.d1).loads.verifiedBetween(input.fromDate, input.toDate);
    const changed: ChangedExport[] = [];
    for (const load of loads) {
      if (input.tables && !input.tables.includes(load.table_name)) continue;
      const inboxSha256 = await sha256Of(join(deps.nas.inbox, load.file_name)).catch(() => undefined);
      if (inboxSha256 && inboxSha256 !== load.sha256) {
        changed.push({ table: load.table_name, businessDate: load.business_date, fileName: load.file_name, loadedSha256: load.sha256, inboxSha256 });
      }
    }
    if (changed.length) log.warn('late corrections found', { changed: changed.map((c) => `${c.table} ${c.businessDate}`) });
    return changed;
  },
});
