import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../activities/schema.ts';
import { createD1Client, type D1Client } from '../../d1/client.ts';
import { startLocalD1Service, type LocalD1Service } from '../../d1/local-service/server.ts';
import { controlSchemaDdl } from '../../history/control-schema.ts';
import { migrations } from '../../history/migrations.ts';
import { tableContracts } from '../../contracts/index.ts';

/** The migrations released so far, in order, as wrangler names them (written out: the code's list must match it). */
const releasedMigrations = ['0001_control_schema', '0002_signed_approvals', '0003_contract_record', '0004_night_incidents', '0005_typed_control', '0006_money_units', '0007_rejected_rows', '0008_key_index_digest'];

/** A warehouse created by the release before migrations: the control schema applied `IF NOT EXISTS`, decisions by name. */
async function legacyWarehouse(d1: D1Client): Promise<void> {
  await d1.batch(controlSchemaDdl().map((sql) => ({ sql })));
  await d1.batch([
    { sql: "INSERT INTO etl_incidents (incident_id, table_name, business_date, status, opened_at) VALUES ('incident-orders-2026-03-05', 'orders', '2026-03-05', 'resolved', '2026-03-06T03:10:00Z')" },
    { sql: "INSERT INTO etl_incident_decisions (incident_id, decided_by, mode, accepted, reason, decided_at) VALUES ('incident-orders-2026-03-05', 'intern', 'rewind', 0, 'intern is not an approver (approvers: paul)', '2026-03-06T07:01:00Z')" },
    { sql: "INSERT INTO etl_incident_decisions (incident_id, decided_by, mode, accepted, reason, decided_at) VALUES ('incident-orders-2026-03-05', 'paul', 'rewind', 1, NULL, '2026-03-06T07:02:00Z')" },
  ]);
}

describe('schema migrations', () => {
  let service: LocalD1Service;
  let dir: string;
  let d1: D1Client;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sodimo-migrations-'));
    service = await startLocalD1Service({ dataDir: dir, apiToken: randomBytes(8).toString('hex'), conformance: 'collect' });
    d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken });
  });
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('upgrade a warehouse built before them in place, keeping its decisions; a second run does nothing', async () => {
    await legacyWarehouse(d1);
    expect(migrations.map((m) => m.name)).toEqual(releasedMigrations);
    // (A dry run compares the views with the database as it is, before the pending migrations.)
    expect(await applyMigrations(d1, { dryRun: true })).toMatchObject({ applied: [], pending: releasedMigrations, contract: [] });
    const steps: string[] = [];
    expect(await applyMigrations(d1, { onStep: (step) => steps.push(step) })).toEqual({
      applied: releasedMigrations, pending: [], contract: [],
      // No load had run: migrate creates the history tables (and their <t>_current); the views 0001 created are the code's.
      tables: tableContracts.map((c) => c.table), views: { created: [], replaced: [] },
    });
    expect(steps.filter((step) => !step.includes(': '))).toEqual([
      'reading the schema',
      'history tables',
      ...releasedMigrations.map((name, i) => `migration ${name} (${i + 1}/${releasedMigrations.length})`),
      'contract changes',
      'views',
    ]);
    const [decisions] = await d1.query('SELECT incident_id, decided_by, mode, accepted, reason, decided_at, key_fingerprint FROM etl_incident_decisions ORDER BY decision_id');
    expect(decisions?.results).toEqual([
      { incident_id: 'incident-orders-2026-03-05', decided_by: 'intern', mode: 'rewind', accepted: 0, reason: 'intern is not an approver (approvers: paul)', decided_at: '2026-03-06T07:01:00Z', key_fingerprint: null },
      { incident_id: 'incident-orders-2026-03-05', decided_by: 'paul', mode: 'rewind', accepted: 1, reason: null, decided_at: '2026-03-06T07:02:00Z', key_fingerprint: null },
    ]);
    const [applied] = await d1.query<{ name: string }>('SELECT name FROM d1_migrations ORDER BY id');
    expect(applied?.results.map((r) => r.name)).toEqual(releasedMigrations);
    // Up to date, it reads the schema in one request and writes nothing.
    let requests = 0;
    const counted: D1Client = { ...d1, query: (...a) => (requests++, d1.query(...a)), batch: (...a) => (requests++, d1.batch(...a)), first: (...a) => (requests++, d1.first(...a)), scalar: (...a) => (requests++, d1.scalar(...a)) };
    expect(await applyMigrations(counted)).toEqual({ applied: [], pending: [], tables: [], contract: [], views: { created: [], replaced: [] } });
    expect(requests).toBe(1);
  });

  it('the audit table refuses what it must never hold', async () => {
    const insert = (values: string) => d1.query(`INSERT INTO etl_approvals (decision_key, action, target, mode, accepted, approver, nonce, nonce_consumed, decided_at) VALUES (${values})`);
    await expect(insert("'k1', 'approve-incident', 'i', 'Rewind', 0, NULL, NULL, 0, 'now'")).rejects.toThrow(/CHECK constraint failed/);
    await expect(insert("'k2', 'approve-incident', 'i', 'rewind', 1, NULL, 'n', 1, 'now'")).rejects.toThrow(/CHECK constraint failed/);
    await insert("'k3', 'approve-incident', 'i', 'rewind', 1, 'paul', 'n1', 1, 'now'");
    await expect(insert("'k4', 'approve-incident', 'i', 'rewind', 1, 'paul', 'n1', 1, 'now'")).rejects.toThrow(/UNIQUE constraint failed/);
  });

  it('the control tables refuse a status their union does not hold', async () => {
    await expect(d1.query("INSERT INTO etl_loads (load_id, table_name, business_date, status) VALUES ('l-bad', 'orders', '2027-10-01', 'done')")).rejects.toThrow(/CHECK constraint failed/);
    await expect(d1.query("INSERT INTO etl_runs (run_id, business_date, workflow_id, started_at, status) VALUES ('r-bad', '2027-10-01', 'w', 'now', 'success')")).rejects.toThrow(/CHECK constraint failed/);
    await expect(d1.query("INSERT INTO etl_incidents (incident_id, table_name, business_date, status, opened_at) VALUES ('i-bad', 'orders', '2027-10-01', 'closed', 'now')")).rejects.toThrow(/CHECK constraint failed/);
    await d1.query("INSERT INTO etl_loads (load_id, table_name, business_date, status) VALUES ('l-ok', 'orders', '2027-10-01', 'verified')");
    // The rebuilt tables kept their rows, indexes and the views over them.
    const [indexes] = await d1.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('etl_loads__table_date', 'etl_runs__business_date') ORDER BY name");
    expect(indexes?.results.map((r) => r.name)).toEqual(['etl_loads__table_date', 'etl_runs__business_date']);
    const [failures] = await d1.query('SELECT count(*) AS n FROM v_recent_failures');
    expect(failures?.results[0]).toEqual({ n: 0 });
  });

  it('0007 keeps a load\'s rejected rows once per (line, issue), the raw line on the first issue only, and the cap on the load', async () => {
    const insert = (line: number, issue: number, raw: string | null) =>
      d1.query('INSERT INTO etl_rejected_rows (load_id, line, issue, column_name, value, rule, message, raw_line) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', ['l-ok', line, issue, 'MONTANT', '1.5', 'decimal comma', 'line 2: decimal comma', raw]);
    await insert(2, 1, 'R1;1.5');
    await insert(2, 2, null);
    await expect(insert(2, 2, null)).rejects.toThrow(/UNIQUE constraint failed|PRIMARY KEY/);
    await expect(insert(3, 2, 'R2;x')).rejects.toThrow(/CHECK constraint failed/);
    await expect(insert(0, 1, 'R0')).rejects.toThrow(/CHECK constraint failed/);
    await d1.query("UPDATE etl_loads SET rows_rejected = 5000, rejected_rows_cap = 100 WHERE load_id = 'l-ok'");
    await expect(d1.query("UPDATE etl_loads SET rejected_rows_cap = -1 WHERE load_id = 'l-ok'")).rejects.toThrow(/CHECK constraint failed/);
    const [rows] = await d1.query('SELECT line, issue, raw_line FROM etl_rejected_rows ORDER BY line, issue');
    expect(rows?.results).toEqual([{ line: 2, issue: 1, raw_line: 'R1;1.5' }, { line: 2, issue: 2, raw_line: null }]);
  });

  it('refuse a database migrated by a newer release', async () => {
    await d1.query("INSERT INTO d1_migrations (name) VALUES ('0099_from_the_future')");
    await expect(applyMigrations(d1)).rejects.toMatchObject({ type: 'SchemaNewerThanCode', message: expect.stringContaining('0099_from_the_future') });
  });
});

describe('0005_typed_control on a warehouse holding a status the code never wrote', () => {
  let service: LocalD1Service;
  let dir: string;
  let d1: D1Client;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sodimo-migrations-0005-'));
    service = await startLocalD1Service({ dataDir: dir, apiToken: randomBytes(8).toString('hex'), conformance: 'collect' });
    d1 = createD1Client({ baseUrl: service.url, accountId: service.accountId, databaseId: service.databaseId, apiToken: service.apiToken });
  });
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses with the table, the key and the value, and changes nothing', async () => {
    await legacyWarehouse(d1);
    await d1.query("INSERT INTO etl_loads (load_id, table_name, business_date, status) VALUES ('orders-2027-10-02-abc', 'orders', '2027-10-02', 'done')");
    await expect(applyMigrations(d1)).rejects.toMatchObject({
      type: 'MigrationRefused',
      message: expect.stringMatching(/0005_typed_control refused: etl_loads row orders-2027-10-02-abc has 'done', where status is one of validating, .*rewound/),
    });
    const [applied] = await d1.query<{ name: string }>('SELECT name FROM d1_migrations ORDER BY id');
    expect(applied?.results.map((r) => r.name)).toEqual(releasedMigrations.slice(0, 4));
    const [row] = await d1.query("SELECT status FROM etl_loads WHERE load_id = 'orders-2027-10-02-abc'");
    expect(row?.results).toEqual([{ status: 'done' }]);
    // Corrected by hand, the migration goes through.
    await d1.query("UPDATE etl_loads SET status = 'verified' WHERE load_id = 'orders-2027-10-02-abc'");
    expect((await applyMigrations(d1)).applied).toEqual(releasedMigrations.slice(4));
  });
});
