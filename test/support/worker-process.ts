import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { inject } from 'vitest';
import { cliEntry } from '../../client/cli-support.ts';
import type { FaultRequest } from '../../d1/local-service/faults.ts';
import type { RandomFaultStats, RandomFaultsInput } from '../../d1/local-service/random-faults.ts';
import type { IsolatedWarehouse } from './warehouse.ts';

/**
 * `warehouse worker` as its own process, as in production, so it can be killed with SIGKILL.
 * `logFile`: append its output there (to read after a failure) instead of discarding it.
 */
export function spawnWorker(warehouse: IsolatedWarehouse, options: { logFile?: string } = {}): ChildProcess {
  const child = spawn(process.execPath, [cliEntry, 'worker'], {
    env: { ...process.env, ...warehouse.env, WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (options.logFile) {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.once('close', () => log.end());
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  return child;
}

/** SIGKILL, and wait until the process is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** What the local D1 service's fault route reports: queued faults, and random mode's counts (null if never on). */
export interface FaultState {
  applied: number;
  pending: unknown[];
  random: RandomFaultStats | null;
}

/** The local D1 service's admin route for faults: queue one, or turn random mode on (`{random: …}`) or off (`{random: null}`). */
export async function faults(
  warehouse: IsolatedWarehouse,
  method: 'GET' | 'POST',
  body?: FaultRequest | { random: RandomFaultsInput | null },
): Promise<FaultState> {
  const response = await fetch(`${warehouse.service.origin}/__local/faults`, {
    method,
    headers: { authorization: `Bearer ${warehouse.service.apiToken}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const envelope = (await response.json()) as { result: FaultState };
  return envelope.result;
}

/** Waits until the service has applied `count` faults in total (the worker is then mid-request). */
export async function untilApplied(warehouse: IsolatedWarehouse, count: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await faults(warehouse, 'GET')).applied < count) {
    if (Date.now() > deadline) throw new Error(`fault ${count} was never reached`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
