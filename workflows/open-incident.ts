import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import { incidentSummary } from './summaries.ts';
import { incidentWorkflowType, type IncidentInput, type IncidentState } from './messages.ts';

/**
 * Starts the incident `workflowId`, which outlives the workflow that opens it (a failed load,
 * a night with no export); one already running (a second failure of the same day) is left
 * as it is. The incident is started by its type name: incident.ts replays loads, so importing
 * it here would make load-table.ts and incident.ts import each other. Same command as before
 * (its summary is user metadata, not part of the command's identity).
 */
export async function openIncidentWorkflow(workflowId: string, input: IncidentInput): Promise<void> {
  try {
    await startChild<(input: IncidentInput) => Promise<IncidentState>>(incidentWorkflowType, {
      workflowId,
      args: [input],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: incidentSummary(input.table, input.businessDate, input.errorType),
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}
