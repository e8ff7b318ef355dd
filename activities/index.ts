import { createProbeActivities, type ProbeDeps } from './probe.ts';

/** Everything the activities need, injected by the worker (or a test). */
export type ActivityDeps = ProbeDeps;

/** All activities the worker registers. Workflows import this type only. */
export const createActivities = (deps: ActivityDeps) => ({
  ...createProbeActivities(deps),
});

/** The activity functions, as workflows see them through proxyActivities. */
export type Activities = ReturnType<typeof createActivities>;
