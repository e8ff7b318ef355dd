// What the rehearsal takes from docker-compose.yml, so that it runs what compose runs:
// the image versions, the one-shot jobs' shell scripts, each service's environment and
// Temporal's dynamic configuration. Reads `docker compose config --format json` on stdin
// (interpolated with the rehearsal's .env) and writes, into the directory given:
//
//   versions.env                    TEMPORAL_VERSION, MAILPIT_VERSION, POSTGRES_VERSION (shell)
//   <service>.env                   that service's environment as compose resolves it (shell)
//   temporal-schema.sh              the temporal-schema job, pointed at $SQL_HOST:$SQL_PORT and
//                                   the schema files under $TEMPORAL_SCHEMA_ROOT
//   temporal-setup.sh               the temporal-setup job, unchanged
//   dynamicconfig.yaml              the temporal-dynamic-config config's content
//
//   node scripts/rehearsal/compose-facts.ts OUT_DIR < compose.json
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';

interface ComposeService {
  image?: string;
  command?: string[] | string;
  environment?: Record<string, string | null>;
}
interface ComposeConfig {
  services: Record<string, ComposeService>;
  configs?: Record<string, { content?: string }>;
}

/** A refusal that names what in docker-compose.yml no longer has the shape the rehearsal reads. */
class ComposeShapeChanged extends Error {
  override name = 'ComposeShapeChanged';
}

const outDir = process.argv[2];
if (!outDir) throw new Error('usage: compose-facts.ts OUT_DIR < compose.json');
const compose = JSON.parse(await text(process.stdin)) as ComposeConfig;

const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new ComposeShapeChanged(`docker-compose.yml has no service "${name}"`);
  return found;
};
/** The tag of a service's image, checked to be of the expected repository. */
const tagOf = (name: string, repository: string): string => {
  const image = service(name).image ?? '';
  const match = /^([^:]+):([\w.-]+)$/.exec(image);
  if (match?.[1] !== repository) throw new ComposeShapeChanged(`service ${name}: image "${image}" is not ${repository}:<tag>`);
  return match[2]!;
};
/** A job's script: compose's `$$` escapes are `$` for the shell that runs it. */
const scriptOf = (name: string): string => {
  const command = service(name).command;
  const script = Array.isArray(command) ? command.join('\n') : command;
  if (!script) throw new ComposeShapeChanged(`service ${name} has no command`);
  return script.replaceAll('$$', '$');
};
/** Replaces every occurrence of a fragment the rehearsal must change, refusing when it is gone. */
const rewrite = (script: string, job: string, from: string, to: string): string => {
  if (!script.includes(from)) throw new ComposeShapeChanged(`the ${job} job no longer contains "${from}": update scripts/rehearsal/compose-facts.ts`);
  return script.replaceAll(from, to);
};
const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;
const shellEnv = (vars: Record<string, string | null | undefined>): string =>
  Object.entries(vars).map(([key, value]) => `export ${key}=${shellQuote(value ?? '')}\n`).join('');

const temporalVersion = tagOf('temporal', 'temporalio/server');
for (const job of ['temporal-schema', 'temporal-setup']) {
  const tag = tagOf(job, 'temporalio/admin-tools');
  // The schema job's files come with admin-tools: another version would migrate to a schema the server does not expect.
  if (tag !== temporalVersion) throw new ComposeShapeChanged(`service ${job} uses admin-tools ${tag} but the server is ${temporalVersion}: raise both together`);
}
const versions = { TEMPORAL_VERSION: temporalVersion, MAILPIT_VERSION: tagOf('mailpit', 'axllent/mailpit'), POSTGRES_VERSION: tagOf('postgresql', 'postgres') };

let schemaJob = scriptOf('temporal-schema');
schemaJob = rewrite(schemaJob, 'temporal-schema', '--ep postgresql -p 5432', '--ep "$SQL_HOST" -p "$SQL_PORT"');
schemaJob = rewrite(schemaJob, 'temporal-schema', '/etc/temporal/schema/', '$TEMPORAL_SCHEMA_ROOT/');
const dynamicConfig = compose.configs?.['temporal-dynamic-config']?.content;
if (!dynamicConfig) throw new ComposeShapeChanged('docker-compose.yml has no configs.temporal-dynamic-config.content');

await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, 'versions.env'), shellEnv(versions));
for (const name of ['postgresql', 'temporal-schema', 'temporal', 'temporal-setup', 'mailpit']) {
  await writeFile(join(outDir, `${name}.env`), shellEnv(service(name).environment ?? {}));
}
await writeFile(join(outDir, 'temporal-schema.sh'), `${schemaJob}\n`);
await writeFile(join(outDir, 'temporal-setup.sh'), `${scriptOf('temporal-setup')}\n`);
await writeFile(join(outDir, 'dynamicconfig.yaml'), dynamicConfig);
console.log(`compose-facts: Temporal ${versions.TEMPORAL_VERSION}, Mailpit ${versions.MAILPIT_VERSION}, PostgreSQL ${versions.POSTGRES_VERSION} (docker-compose.yml)`);
