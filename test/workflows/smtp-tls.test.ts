import { randomUUID } from 'node:crypto';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../activities/schema.ts';
import { incident, incidentStateQuery } from '../../workflows/index.ts';
import { testConfig, uniqueName } from '../support/environment.ts';
import { eventually } from '../support/eventually.ts';
import { freePort } from '../support/free-port.ts';
import { parseMessage } from '../support/mail.ts';
import { startIsolatedWarehouse, startWorker, type IsolatedWarehouse } from '../support/warehouse.ts';

/** What the mail server saw: connections, the credentials that reached it, the messages. */
interface ServerLog {
  connections: number;
  auths: { username: string | undefined; password: string | null | undefined; secure: boolean }[];
  subjects: string[];
}

/**
 * A mail server like a misconfigured (or impersonated) relay: no STARTTLS, AUTH required and
 * accepted in clear. Whatever keeps the password off the wire must therefore be the client.
 */
async function startPlaintextSmtpServer(port: number): Promise<{ seen: ServerLog; close(): Promise<void> }> {
  const seen: ServerLog = { connections: 0, auths: [], subjects: [] };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onConnect(_session, callback) {
      seen.connections += 1;
      callback();
    },
    onAuth(auth, session, callback) {
      seen.auths.push({ username: auth.username, password: auth.password, secure: session.secure });
      callback(null, { user: auth.username });
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        seen.subjects.push(parseMessage(Buffer.concat(chunks).toString('latin1')).headers.subject ?? '');
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('SMTP credentials never travel in clear', () => {
  let warehouse: IsolatedWarehouse;
  let smtp: Awaited<ReturnType<typeof startPlaintextSmtpServer>>;
  let smtpUrl: string;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const port = await freePort();
    smtp = await startPlaintextSmtpServer(port);
    smtpUrl = `smtp://warehouse:s3cret-pass@127.0.0.1:${port}`;
    warehouse = await startIsolatedWarehouse({ SMTP_URL: smtpUrl });
    await applyMigrations(warehouse.d1);
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await smtp?.close();
    await warehouse?.close();
  });

  /** Opens an incident on its own task queue, served by a worker with these extra settings. */
  async function startIncident(extraEnv: Record<string, string>) {
    const config = testConfig({ ...warehouse.env, TEMPORAL_TASK_QUEUE: uniqueName('tq'), ...extraEnv });
    const worker = await startWorker(config);
    stops.push(() => worker.stop());
    const workflowId = `incident-smtp-tls-${randomUUID()}`;
    const handle = await warehouse.client.workflow.start(incident, {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [{ table: 'orders', businessDate: '2026-09-14', errorType: 'CsvHeaderMismatch', message: 'missing CODE_DEPOT', quarantineDir: '/nas/quarantine/2026-09-14/orders' }],
    });
    stops.push(() => handle.terminate('test over').then(() => undefined, () => undefined));
    return { handle };
  }

  it('refuses to authenticate to a server without STARTTLS, and keeps retrying the alert', async () => {
    const before = smtp.seen.connections;
    const { handle } = await startIncident({});

    // The alert activity is attempted, fails before AUTH, and is attempted again.
    const pending = await eventually(
      async () => (await handle.describe()).raw.pendingActivities?.[0],
      (activity) => (activity?.attempt ?? 0) >= 3,
      30_000,
    );
    // What reached the server: connections, but neither the password nor the message.
    expect(smtp.seen.auths).toEqual([]);
    expect(smtp.seen.subjects).toEqual([]);
    expect(smtp.seen.connections - before).toBeGreaterThanOrEqual(2);
    // What the operator sees (Web UI, `warehouse incidents`): the alert pending, retried, and why.
    expect((await handle.query(incidentStateQuery)).alert).toBe('pending');
    expect(pending?.activityType?.name).toBe('alertIncident');
    expect(pending?.attempt).toBeGreaterThanOrEqual(3);
    expect(pending?.lastFailure?.message).toMatch(/^127\.0\.0\.1:\d+ refused STARTTLS \(.*\), so the user and password in SMTP_URL were not sent/);
    expect(pending?.lastFailure?.message).not.toContain('s3cret-pass');
  }, 60_000);

  it('sends it with the credentials in clear when SMTP_ALLOW_PLAINTEXT_AUTH=true says so', async () => {
    const { handle } = await startIncident({ SMTP_ALLOW_PLAINTEXT_AUTH: 'true' });

    const state = await eventually(() => handle.query(incidentStateQuery), (s) => s.alert === 'smtp', 30_000);
    expect(state.alert).toBe('smtp');
    expect(smtp.seen.auths).toEqual([{ username: 'warehouse', password: 's3cret-pass', secure: false }]);
    expect(smtp.seen.subjects).toHaveLength(1);
    expect(smtp.seen.subjects[0]).toContain('[warehouse] orders 2026-09-14: CsvHeaderMismatch');
  }, 60_000);
});
