import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = new URL('../../scripts/rehearsal/compose-facts.ts', import.meta.url).pathname;
const schemaJob = ['set -eu', 'temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u temporal --db "$$1" update-schema -d "/etc/temporal/schema/postgresql/v12/$$2/versioned"'];

/** The shape of `docker compose config --format json` the rehearsal reads, with these images. */
function composeJson(images: { server: string; schemaTools: string; setupTools: string }) {
  return {
    services: {
      postgresql: { image: 'postgres:16', environment: { POSTGRES_USER: 'temporal', POSTGRES_PASSWORD: "it's secret" } },
      'temporal-schema': { image: `temporalio/admin-tools:${images.schemaTools}`, command: schemaJob, environment: { SQL_PASSWORD: 'pw' } },
      temporal: { image: `temporalio/server:${images.server}`, environment: { DB: 'postgres12' } },
      'temporal-setup': { image: `temporalio/admin-tools:${images.setupTools}`, command: ['echo "namespace $$NAMESPACE ready"'] },
      mailpit: { image: 'axllent/mailpit:v1.31.1' },
    },
    configs: { 'temporal-dynamic-config': { content: 'limit.maxIDLength:\n  - value: 255\n' } },
  };
}

describe("the rehearsal reads docker-compose.yml's versions and jobs, and refuses a stack that drifted", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const facts = async (compose: unknown) => {
    const dir = await mkdtemp(join(tmpdir(), 'sodimo-compose-facts-'));
    dirs.push(dir);
    const run = spawnSync(process.execPath, [script, dir], { input: JSON.stringify(compose), encoding: 'utf8' });
    return { dir, code: run.status, stderr: run.stderr };
  };

  it("writes the versions from the image tags, the jobs as a shell runs them, and each service's environment", async () => {
    const { dir, code, stderr } = await facts(composeJson({ server: '1.31.0', schemaTools: '1.31.0', setupTools: '1.31.0' }));
    expect(code, stderr).toBe(0);
    expect(await readFile(join(dir, 'versions.env'), 'utf8')).toBe("export TEMPORAL_VERSION='1.31.0'\nexport MAILPIT_VERSION='v1.31.1'\nexport POSTGRES_VERSION='16'\n");
    // compose's `$$` is the shell's `$`; the database address and the schema directory are the rehearsal's.
    expect(await readFile(join(dir, 'temporal-schema.sh'), 'utf8')).toBe(
      'set -eu\ntemporal-sql-tool --plugin postgres12 --ep "$SQL_HOST" -p "$SQL_PORT" -u temporal --db "$1" update-schema -d "$TEMPORAL_SCHEMA_ROOT/postgresql/v12/$2/versioned"\n',
    );
    expect(await readFile(join(dir, 'temporal-setup.sh'), 'utf8')).toBe('echo "namespace $NAMESPACE ready"\n');
    expect(await readFile(join(dir, 'postgresql.env'), 'utf8')).toBe("export POSTGRES_USER='temporal'\nexport POSTGRES_PASSWORD='it'\\''s secret'\n");
    expect(await readFile(join(dir, 'dynamicconfig.yaml'), 'utf8')).toBe('limit.maxIDLength:\n  - value: 255\n');
  });

  it('refuses admin-tools at another version than the server, naming the job and both versions', async () => {
    const { code, stderr } = await facts(composeJson({ server: '1.32.0', schemaTools: '1.31.0', setupTools: '1.32.0' }));
    expect(code).toBe(1);
    expect(stderr).toContain('ComposeShapeChanged: service temporal-schema uses admin-tools 1.31.0 but the server is 1.32.0: raise both together');
  });

  it('refuses a schema job it no longer knows how to point at this machine, naming what is missing', async () => {
    const compose = composeJson({ server: '1.31.0', schemaTools: '1.31.0', setupTools: '1.31.0' });
    compose.services['temporal-schema'].command = ['temporal-sql-tool --ep db -p 5432 setup-schema'];
    const { code, stderr } = await facts(compose);
    expect(code).toBe(1);
    expect(stderr).toContain('ComposeShapeChanged: the temporal-schema job no longer contains "--ep postgresql -p 5432"');
  });
});
