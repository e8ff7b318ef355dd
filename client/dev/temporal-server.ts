import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags, searchAttributeTypes } from '../../common/search-attributes.ts';
import { findTemporalCli } from './temporal-cli.ts';

/** How to start a Temporal dev server. */
export interface TemporalDevServerOptions {
  port: number;
  /** Web UI port; omit to run headless. */
  uiPort?: number;
  namespace?: string;
  /** SQLite file that keeps workflows across restarts; omit for an in-memory server. */
  dbFile?: string;
  /** Where the server's own log goes; omit to discard it. */
  logFile?: string;
  /** How long to wait for the server to answer health checks. */
  startTimeoutMs?: number;
}

/** Eager activities, as docker-compose.yml's dynamic config sets them for production. */
const eagerActivities = ['--dynamic-config-value', 'system.enableActivityEagerExecution=true'];

/** A running Temporal dev server. */
export interface TemporalDevServer {
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  stop(): Promise<void>;
}

/**
 * Starts a real `temporal server start-dev` bound to 127.0.0.1, with the warehouse's
 * search attributes registered, and waits until it answers gRPC health checks.
 * Without a CLI on this machine it falls back to the SDK's download (needs the internet).
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const namespace = options.namespace ?? 'default';
  const address = `127.0.0.1:${options.port}`;
  const uiUrl = options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined;
  const cli = findTemporalCli();
  if (!cli) return startWithSdkDownload(options, namespace, address, uiUrl);

  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--namespace', namespace, '--log-format', 'pretty', '--log-level', 'warn', ...eagerActivities, ...searchAttributeFlags()];
  args.push(...(options.uiPort ? ['--ui-port', String(options.uiPort)] : ['--headless']));
  if (options.dbFile) args.push('--db-filename', options.dbFile);

  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    log?.write(chunk);
    tail.push(chunk.toString());
    if (tail.length > 50) tail.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitForHealth(address, options.startTimeoutMs ?? 60_000, exited);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`Temporal dev server on ${address} did not start: ${(error as Error).message}\n${tail.join('').slice(-2000)}`);
  }
  return { address, namespace, uiUrl, stop: () => stopChild(child, exited).finally(() => log?.end()) };
}

async function waitForHealth(address: string, timeoutMs: number, exited: Promise<number | null>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let processExit: number | null | undefined;
  void exited.then((code) => (processExit = code));
  for (;;) {
    if (processExit !== undefined) throw new Error(`the server process exited with code ${processExit}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`no answer within ${timeoutMs} ms (${(error as Error).message})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function startWithSdkDownload(options: TemporalDevServerOptions, namespace: string, address: string, uiUrl: string | undefined): Promise<TemporalDevServer> {
  process.stderr.write('temporal-cli: falling back to the Temporal SDK download of the CLI\n');
  // Loaded here only: @temporalio/testing is a development dependency, absent from the worker image.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port: options.port,
      namespace,
      ui: Boolean(options.uiPort),
      ...(options.uiPort ? { uiPort: options.uiPort } : {}),
      ...(options.dbFile ? { dbFilename: options.dbFile } : {}),
      searchAttributes: Object.entries(searchAttributeTypes).map(([name]) => ({ name, type: 'KEYWORD' as const })),
      extraArgs: eagerActivities,
    },
  });
  return { address, namespace, uiUrl, stop: () => env.teardown() };
}
