import { createServer } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect, afterAll } from 'vitest';
import { freePort } from '../support/free-port.ts';
import { runWarehouse } from '../support/cli.ts';
import { portInUse } from '../../client/dev/port-holder.ts';

/** True while any process of the group is alive. */
function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

describe('warehouse dev --detach, then the local D1 service over plain HTTP', () => {
  let env: Record<string, string>;
  let dir: string | undefined;
  afterAll(async () => {
    if (env) await runWarehouse(['dev', 'stop'], env);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts both services, answers D1 errors with the REST envelope, and stops', async () => {
    const [temporalPort, uiPort, d1Port] = [await freePort(), await freePort(), await freePort()];
    env = {
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      TEMPORAL_UI_URL: `http://127.0.0.1:${uiPort}`,
      D1_API_URL: `http://127.0.0.1:${d1Port}/client/v4`,
      WAREHOUSE_VAR_DIR: join((dir = await mkdtemp(join(tmpdir(), 'sodimo-dev-'))), 'var'),
    };

    const started = await runWarehouse(['dev', '--detach'], env);
    // A start that fails says why: the services' log is in the temporary folder removed after the test.
    const devLog = started.code === 0 ? '' : await readFile(join(env.WAREHOUSE_VAR_DIR!, 'log', 'dev.log'), 'utf8').catch((e: Error) => `(no dev.log: ${e.message})`);
    expect(started.code, `${started.stderr}\n${devLog.slice(-3000)}`).toBe(0);
    expect(started.stdout).toContain(`Web UI:     http://127.0.0.1:${uiPort}`);
    // The development NAS's inbox is there to drop exports into, and the output says where.
    const inbox = join(env.WAREHOUSE_VAR_DIR!, 'nas', 'inbox');
    expect(started.stdout).toContain(`inbox:      ${inbox} (drop Sodiwin's exports here)`);
    expect((await stat(inbox)).isDirectory()).toBe(true);

    // 101 bound parameters, as curl would send them.
    const url = `http://127.0.0.1:${d1Port}/client/v4/accounts/local-account/d1/database/local-warehouse/query`;
    const params = Array.from({ length: 101 }, (_, i) => i);
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: 'Bearer local-dev-token', 'content-type': 'application/json' },
      body: JSON.stringify({ sql: `SELECT ${params.map(() => '?').join(', ')}`, params }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { success: boolean; errors: { code: number; message: string }[]; result: unknown };
    expect(body.success).toBe(false);
    expect(body.errors[0]?.code).toBe(7500);
    expect(body.errors[0]?.message).toMatch(/too many SQL variables/);

    // The Web UI is served.
    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    expect(ui.status).toBe(200);

    const again = await runWarehouse(['dev', '--detach'], env);
    expect(again.stdout).toContain('already running');

    // The services' process group: the CLI's `dev` process, the Temporal server and Miniflare's runtime.
    const group = Number(await readFile(join(env.WAREHOUSE_VAR_DIR!, 'dev', 'dev.pid'), 'utf8'));
    expect(groupAlive(group)).toBe(true);
    const stopped = await runWarehouse(['dev', 'stop'], env);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(groupAlive(group)).toBe(false);
    for (const port of [temporalPort, uiPort, d1Port]) expect(await portInUse(port)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${d1Port}/__local/health`)).rejects.toThrow();
  });

  it('refuses to start over a port held by a process it did not start, and names it', async () => {
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(0, '127.0.0.1', resolve));
    const port = (stale.address() as { port: number }).port;
    try {
      const started = await runWarehouse(['dev', '--detach'], { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
      expect(started.code).not.toBe(0);
      expect(started.stderr).toContain(`the Temporal port ${port} is already in use by pid ${process.pid}`);
      expect(started.stderr).not.toMatch(/\n\s+at /); // a sentence, not a stack trace
    } finally {
      await new Promise((resolve) => stale.close(resolve));
    }
  });
});
