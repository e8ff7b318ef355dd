import { spawn, type ChildProcess } from 'node:child_process';
import { inject } from 'vitest';
import { cliEntry } from '../../client/cli-support.ts';
import type { FaultRequest } from '../../d1/local-service/faults.ts';
import type { IsolatedWarehouse } from './warehouse.ts';

/** `warehouse worker` as its own process, as in production, so it can be killed with SIGKILL. */
export function spawnWorker(warehouse: IsolatedWarehouse): ChildProcess {
  const child = spawn(process.execPath, [cliEntry, 'worker'], {
    env: { ...process.env, ...warehouse.env, WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

/** SIGKILL, and wait until the process is gone. */
export async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** The local D1 service's admin route for faults. */
export async function faults(warehouse: IsolatedWarehouse, method: 'GET' | 'POST', body?: FaultRequest): Promise<{ applied: number; pending: unknown[] }> {
  const response = await fetch(`${warehouse.service.origin}/__local/faults`, {
    method,
    headers: { authorization: `Bearer ${warehouse.service.apiToken}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const envelope = (await response.json()) as { result: { applied: number; pending: unknown[] } };
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
