// The worker container's health check: exits 0 when the Temporal server has seen this
// host's worker poll its task queue (workflow and activity tasks) within the last few
// minutes, 1 otherwise. A live process that lost its connection, or never registered,
// is reported unhealthy; so is a server that does not answer.
//
//   node ops/worker-healthcheck.ts        (docker-compose.yml runs it every minute)
import { hostname } from 'node:os';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../worker/config.ts';

/** A poll older than this means the worker stopped polling (an idle long poll is renewed about every minute). */
const maxPollAgeMs = 3 * 60_000;

/** Task queue types the worker polls (temporal.api.enums.v1.TaskQueueType). */
const taskQueueTypes = { workflow: 1, activity: 2 } as const;

try {
  const problems = await pollProblems();
  if (problems.length > 0) {
    console.error(`worker unhealthy: ${problems.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log('worker healthy: polling its task queue');
  }
} catch (error) {
  console.error(`worker unhealthy: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}

/** What is wrong with this host's pollers, as the Temporal server sees them (empty: healthy). */
async function pollProblems(): Promise<string[]> {
  const config = loadConfig();
  // The SDK's default worker identity is `<pid>@<hostname>`; in a container the hostname is the container's.
  const identitySuffix = `@${hostname()}`;
  const connection = await Connection.connect({ address: config.temporal.address, tls: config.temporal.tls, connectTimeout: 5_000 });
  try {
    const problems: string[] = [];
    for (const [kind, taskQueueType] of Object.entries(taskQueueTypes)) {
      const { pollers } = await connection.workflowService.describeTaskQueue({
        namespace: config.temporal.namespace,
        taskQueue: { name: config.temporal.taskQueue },
        taskQueueType,
      });
      const ours = pollers.filter((p) => p.identity?.endsWith(identitySuffix));
      const newest = Math.max(0, ...ours.map((p) => Number(p.lastAccessTime?.seconds?.toString() ?? 0) * 1000));
      if (Date.now() - newest > maxPollAgeMs) {
        problems.push(`no ${kind} poll from ${hostname()} on task queue "${config.temporal.taskQueue}" (${config.temporal.address}) in the last ${maxPollAgeMs / 60_000} minutes`);
      }
    }
    return problems;
  } finally {
    await connection.close();
  }
}
