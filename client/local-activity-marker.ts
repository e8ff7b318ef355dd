import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { Client } from '@temporalio/client';

/** An event of a history as the client fetches it. */
type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];

/** A local activity as its history records it: one marker, written when it completed (or gave up). */
export interface LocalActivityRecord {
  type: string;
  attempt: number;
  /**
   * When it completed, in ms since the epoch: the one reliable time of its marker (the core's schedule
   * time there can read after it).
   */
  completedMs: number;
  /** Its summary in the Web UI, when it was given one. */
  summary?: string;
}

/** The marker the Temporal SDK core writes for a local activity. */
const localActivityMarker = 'core_local_activity';

/**
 * The local activity an event records, or undefined when it records none (another event, another
 * marker, or a marker whose data is not the core's). Pure: for tests and benches reading histories.
 */
export function localActivityOf(event: HistoryEvent): LocalActivityRecord | undefined {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== localActivityMarker) return undefined;
  const data = decoded(marker.details?.['data']?.payloads?.[0]) as
    | { activity_type?: unknown; attempt?: unknown; complete_time?: unknown }
    | undefined;
  if (typeof data?.activity_type !== 'string') return undefined;
  const summary = decoded(event.userMetadata?.summary ?? undefined);
  return {
    type: data.activity_type,
    attempt: typeof data.attempt === 'number' ? data.attempt : 1,
    completedMs: timeMs(data.complete_time) ?? 0,
    ...(typeof summary === 'string' ? { summary } : {}),
  };
}

function decoded(payload: unknown): unknown {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(payload as Payload);
  } catch {
    return undefined;
  }
}

/** A `{ seconds, nanos }` time as ms, or undefined when it is not one. */
function timeMs(time: unknown): number | undefined {
  const { seconds, nanos } = (time ?? {}) as { seconds?: unknown; nanos?: unknown };
  if (typeof seconds !== 'number') return undefined;
  return seconds * 1000 + (typeof nanos === 'number' ? nanos : 0) / 1e6;
}
