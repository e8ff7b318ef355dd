import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes the warehouse's workflows set, registered on the Temporal server at start. */
export const searchAttributeTypes = {
  BusinessDate: 'Keyword',
  EtlStatus: 'Keyword',
  EtlTable: 'Keyword',
} as const;

/** The business date a workflow works on (`YYYY-MM-DD`): find a night's runs in the Web UI. */
export const businessDateKey = defineSearchAttributeKey('BusinessDate', SearchAttributeType.KEYWORD);

/** running | ok | partial | failed | quarantined … : find what needs attention in the Web UI. */
export const etlStatusKey = defineSearchAttributeKey('EtlStatus', SearchAttributeType.KEYWORD);

/** The table a workflow loads, repairs or re-checks (`customers`; `inbox` for a night none of whose exports arrived). */
export const etlTableKey = defineSearchAttributeKey('EtlTable', SearchAttributeType.KEYWORD);

/** Set by the Temporal server on every workflow a schedule starts: the time it was scheduled for. */
export const scheduledStartTimeKey = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** `--search-attribute K=Type` flags for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  return Object.entries(searchAttributeTypes).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}
