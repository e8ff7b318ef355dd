import type { SearchAttributePair } from '@temporalio/common';
import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import { businessDateKey, etlStatusKey, etlTableKey } from '../common/search-attributes.ts';

/**
 * Patch marker: `loadTable`, incident, backfill, rebuild and re-check workflows carry
 * `BusinessDate`, `EtlTable` and `EtlStatus`, so the Web UI's list filters "last night, still
 * running" or "incidents open". A `loadTable` child is started with them and upserts its
 * status as it ends; the others upsert theirs. Histories before it set none of them on these
 * workflows (children were started without search attributes, and no upsert was issued).
 */
export const etlSearchAttributesPatch = 'etl-search-attributes';

/** What a `loadTable`'s EtlStatus says: running while it works, then how it ended. */
export type LoadTableEtlStatus = 'running' | 'loaded' | 'unchanged' | 'deferred' | 'quarantined' | 'failed' | 'cancelled';

/** What a workflow is about, for the Web UI's filters; each field omitted when it has none (a rebuild of every table). */
export interface EtlAttributes {
  businessDate?: string;
  table?: string;
  status?: string;
}

/** The search-attribute pairs of `attributes`, the absent ones left out. */
export function etlAttributePairs(attributes: EtlAttributes): SearchAttributePair[] {
  const pairs: SearchAttributePair[] = [];
  if (attributes.businessDate !== undefined) pairs.push({ key: businessDateKey, value: attributes.businessDate });
  if (attributes.table !== undefined) pairs.push({ key: etlTableKey, value: attributes.table });
  if (attributes.status !== undefined) pairs.push({ key: etlStatusKey, value: attributes.status });
  return pairs;
}

/**
 * The child options a `loadTable` of `table` for `businessDate` starts with: its search
 * attributes (EtlStatus `running`), from its first moment in the list view. Empty when replaying
 * a history from before the patch (its child was started without them).
 */
export function loadTableChildAttributes(table: string, businessDate: string): { typedSearchAttributes?: SearchAttributePair[] } {
  if (!patched(etlSearchAttributesPatch)) return {};
  return { typedSearchAttributes: etlAttributePairs({ businessDate, table, status: 'running' satisfies LoadTableEtlStatus }) };
}

/** Upserts the workflow's ETL search attributes (one command), unless replaying a history from before the patch. */
export function markEtlAttributes(attributes: EtlAttributes): void {
  const pairs = etlAttributePairs(attributes);
  if (pairs.length === 0 || !patched(etlSearchAttributesPatch)) return;
  upsertSearchAttributes(pairs);
}
