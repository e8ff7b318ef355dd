import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

/** Entry point of the workflow bundle. */
export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * Bundles the workflow code as the worker's sandbox runs it. A Node built-in or an
 * activity implementation reachable from `workflows/` fails here, not at 03:00.
 */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: quietLogger });
}

const ignore = () => undefined;
const quietLogger = { trace: ignore, debug: ignore, info: ignore, warn: ignore, error: (message: string) => process.stderr.write(`${message}\n`), log: ignore };
