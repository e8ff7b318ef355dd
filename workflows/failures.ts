import { ApplicationFailure, ChildWorkflowFailure, ActivityFailure, TemporalFailure } from '@temporalio/workflow';

/** The stable type, message and (for data errors) details of whatever failed, looking through activity and child wrappers. */
export function describeFailure(error: unknown): { type: string; message: string; details?: unknown } {
  let current: unknown = error;
  while (current instanceof ActivityFailure || current instanceof ChildWorkflowFailure) {
    if (!current.cause) break;
    current = current.cause;
  }
  if (current instanceof ApplicationFailure) {
    const details = current.details?.[0];
    return { type: current.type ?? 'Error', message: current.message, ...(details === undefined ? {} : { details }) };
  }
  if (current instanceof TemporalFailure) return { type: current.name, message: current.message };
  if (current instanceof Error) return { type: current.name, message: current.message };
  return { type: 'Error', message: String(current) };
}
