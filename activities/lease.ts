import { Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/common';

/** A workflow id's latest run: whether it is still going, and the first run of its chain (continue-as-new keeps it). */
export interface LatestRun {
  running: boolean;
  chain?: string;
}

/** What the lease's liveness check needs: a look at a workflow id's latest run (undefined: the server knows none). */
export interface LeaseDeps {
  latestRun?: (workflowId: string) => Promise<LatestRun | undefined>;
}

/** The latest run of a workflow id, asked of the server through the worker's own client. */
async function latestRunFromWorkerClient(workflowId: string): Promise<LatestRun | undefined> {
  try {
    const description = await Context.current().client.workflow.getHandle(workflowId).describe();
    const chain = description.raw.workflowExecutionInfo?.firstRunId ?? undefined;
    return { running: description.status.name === 'RUNNING', ...(chain ? { chain } : {}) };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

/** What the warehouse lease needs from outside workflow code: its name, and which holders' runs are over. */
export const createLeaseActivities = (deps: LeaseDeps) => ({
  /**
   * The task queue this worker serves, which names the warehouse's lease. Asked of an activity
   * so that its recorded answer, not the replaying worker's queue, is what a replay sees.
   */
  async workerTaskQueue(): Promise<string> {
    return Context.current().info.taskQueue;
  },

  /**
   * Of the workflow chains given, those no longer running: the latest run of the id is
   * closed, or it is a newer chain (the id was started again). Their grants are stale.
   */
  async closedLeaseChains(input: { chains: { workflowId: string; chain: string }[] }): Promise<{ workflowId: string; chain: string }[]> {
    const latestRun = deps.latestRun ?? latestRunFromWorkerClient;
    const closed: { workflowId: string; chain: string }[] = [];
    for (const holder of input.chains) {
      const run = await latestRun(holder.workflowId);
      if (!run || !run.running || (run.chain !== undefined && run.chain !== holder.chain)) closed.push(holder);
    }
    if (closed.length > 0) log.warn('lease holders no longer running', { closed });
    return closed;
  },
});
