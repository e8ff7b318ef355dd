import { ApplicationFailure, ChildWorkflowFailure, ActivityFailure, TemporalFailure } from '@temporalio/workflow';
import type { UnrevertedLoad } from '../common/incident-facts.ts';

/** The stable type, message and (for data errors) details of whatever failed, looking through activity and child wrappers. */
export function describeFailure(error: unknown): { type: string; message: string; details?: unknown } {
  const current = innermost(error);
  if (current instanceof ApplicationFailure) {
    const details = current.details?.[0];
    return { type: current.type ?? 'Error', message: current.message, ...(details === undefined ? {} : { details }) };
  }
  if (current instanceof TemporalFailure) return { type: current.name, message: current.message };
  if (current instanceof Error) return { type: current.name, message: current.message };
  return { type: 'Error', message: String(current) };
}

/**
 * The failure loadTable throws carries, after the data error's details, the load whose revert
 * did not complete (`{ unreverted }`), for a caller that replayed it and must revert it again.
 */
export function loadFailureDetails(details: unknown, unreverted: UnrevertedLoad | undefined): unknown[] {
  return [details ?? null, ...(unreverted ? [{ unreverted }] : [])];
}

/** The load a failed loadTable child left partly in its table (see `loadFailureDetails`), if any. */
export function unrevertedLoadOf(error: unknown): UnrevertedLoad | undefined {
  const current = innermost(error);
  if (!(current instanceof ApplicationFailure)) return undefined;
  const carried = (current.details?.[1] as { unreverted?: UnrevertedLoad } | null | undefined)?.unreverted;
  return carried && typeof carried.loadId === 'string' ? carried : undefined;
}

/** The failure under the activity and child-workflow wrappers. */
function innermost(error: unknown): unknown {
  let current: unknown = error;
  while (current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) {
    if (!current.cause) break;
    current = current.cause;
  }
  return current;
}
