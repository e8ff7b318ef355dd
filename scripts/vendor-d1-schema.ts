/**
 * Vendors the part of Cloudflare's published API schema that the warehouse uses: the D1 paths
 * `query`, `raw`, `time_travel/bookmark`, `time_travel/restore` and `import`, every component
 * they reference (transitively), and the patches written out in
 * d1/local-service/schema/README.md. The output is a pinned input of the local D1 service's
 * conformance checks, committed with the code.
 *
 *   node scripts/vendor-d1-schema.ts <openapi.json> --commit <sha> --date <ISO date> [--out <file>]
 *
 * `<openapi.json>` is `openapi.json` of github.com/cloudflare/api-schemas at `<sha>`, e.g.
 * `git -C <clone> show <sha>:openapi.json > /tmp/openapi.json`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
interface OpenApi extends JsonObject {
  paths: { [path: string]: JsonObject };
  components: { [kind: string]: { [name: string]: Json } };
}

const base = '/accounts/{account_id}/d1/database/{database_id}';
/** The D1 paths the warehouse's client calls. */
export const d1Paths = ['query', 'raw', 'time_travel/bookmark', 'time_travel/restore', 'import'].map((p) => `${base}/${p}`);

const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });
const failure = (description: string): JsonObject => ({ description, content: { 'application/json': { schema: ref('d1_api-response-common-failure') } } });
const pathParameters: Json = [
  { in: 'path', name: 'account_id', required: true, schema: ref('d1_account-identifier') },
  { in: 'path', name: 'database_id', required: true, schema: ref('d1_database-identifier') },
];

/**
 * Definitions of Cloudflare's later schema (cloudflare/api-schemas c92b9b0f, 2026-07-27) for what
 * the input may lack; cross-checked with cloudflare/cloudflare-typescript
 * `src/resources/d1/database/{database,time-travel}.ts`. Used only where the input has none.
 */
const later = {
  commit: 'c92b9b0fde23ae00fece2025662f96dc8e2d6283',
  schemas: {
    'd1_single-query': {
      description: 'A single query with or without parameters',
      type: 'object',
      properties: { params: ref('d1_params'), sql: ref('d1_sql') },
      required: ['sql'],
      title: 'single query',
    },
    'd1_batch-query': {
      description: 'A single query object or a batch query object',
      oneOf: [
        ref('d1_single-query'),
        { properties: { batch: { type: 'array', items: ref('d1_single-query') } }, required: ['batch'], title: 'multiple queries', type: 'object' },
      ],
    },
    'd1_served-by-colo': { description: 'The three letters airport code of the colo that handled the query.', type: 'string' },
    'd1_served-by-region': {
      description: 'Region location hint of the database instance that handled the query.',
      type: 'string',
      enum: ['WNAM', 'ENAM', 'WEUR', 'EEUR', 'APAC', 'OC'],
    },
    'd1_time-travel-bookmark': { description: 'A bookmark representing a specific state of the database at a specific point in time.', type: 'string' },
    'd1_time-travel-timestamp': {
      description: 'An ISO 8601 timestamp used for time travel operations. The database will be restored to the nearest available bookmark at or before this timestamp.',
      type: 'string',
      format: 'date-time',
    },
    'd1_time-travel-restore-response': {
      description: 'Response from a time travel restore operation.',
      type: 'object',
      properties: {
        bookmark: { allOf: [ref('d1_time-travel-bookmark'), { description: 'The new bookmark representing the state of the database after the restore operation.' }] },
        message: { description: 'A message describing the result of the restore operation.', type: 'string' },
        previous_bookmark: {
          allOf: [ref('d1_time-travel-bookmark'), { description: 'The bookmark representing the state of the database before the restore operation. Can be used to undo the restore if needed.' }],
        },
      },
    },
  } satisfies Record<string, Json>,
  queryMetaProperties: {
    served_by_colo: ref('d1_served-by-colo'),
    served_by_primary: { description: 'Denotes if the query has been handled by the database primary instance.', type: 'boolean' },
    served_by_region: ref('d1_served-by-region'),
    timings: { description: 'Various durations for the query.', type: 'object', properties: { sql_duration_ms: { type: 'number' } } },
  } satisfies Record<string, Json>,
  paths: {
    [`${base}/time_travel/bookmark`]: {
      get: {
        operationId: 'd1-time-travel-get-bookmark',
        summary: 'Get D1 database bookmark',
        parameters: [
          ...(pathParameters as Json[]),
          { name: 'timestamp', in: 'query', description: 'An optional ISO 8601 timestamp. If omitted, returns the current bookmark.', schema: ref('d1_time-travel-timestamp') },
        ],
        responses: {
          '200': {
            description: 'Bookmark retrieved successfully',
            content: {
              'application/json': {
                schema: { allOf: [ref('d1_api-response-common'), { properties: { result: { type: 'object', properties: { bookmark: ref('d1_time-travel-bookmark') } } } }] },
              },
            },
          },
          '4XX': failure('Failed to retrieve bookmark'),
        },
      },
    },
    [`${base}/time_travel/restore`]: {
      post: {
        operationId: 'd1-time-travel-restore',
        summary: 'Restore D1 Database to a bookmark or point in time',
        parameters: [
          ...(pathParameters as Json[]),
          { name: 'bookmark', in: 'query', description: 'Required if `timestamp` is not provided.', schema: ref('d1_time-travel-bookmark') },
          { name: 'timestamp', in: 'query', description: 'Required if `bookmark` is not provided.', schema: ref('d1_time-travel-timestamp') },
        ],
        responses: {
          '200': {
            description: 'Database restored successfully',
            content: { 'application/json': { schema: { allOf: [ref('d1_api-response-common'), { properties: { result: ref('d1_time-travel-restore-response') } }] } } },
          },
          '4XX': failure('Restore operation failed'),
        },
      },
    },
  } satisfies Record<string, JsonObject>,
};

/** One change to Cloudflare's schema, with why; README.md lists the same. */
interface Patch {
  id: string;
  why: string;
  /** Changes `doc` in place; returns false when the input needs no such change. */
  apply(doc: OpenApi): boolean;
}

const schemas = (doc: OpenApi) => doc.components.schemas as Record<string, JsonObject>;
const operations = (doc: OpenApi) => d1Paths.flatMap((p) => Object.values(doc.paths[p] ?? {}) as JsonObject[]);

/** The patches, in the order they apply. */
export const patches: Patch[] = [
  {
    id: 'time-travel-paths',
    why: `Time Travel's paths are absent from the input; added from api-schemas ${later.commit.slice(0, 8)} (2026-07-27).`,
    apply(doc) {
      let changed = false;
      for (const [path, item] of Object.entries(later.paths)) {
        if (doc.paths[path]) continue;
        doc.paths[path] = structuredClone(item) as JsonObject;
        changed = true;
      }
      return changed;
    },
  },
  {
    id: 'batch-body',
    why: `The input's query and raw bodies take one {sql, params}; D1 also takes {batch: [...]} (api-schemas ${later.commit.slice(0, 8)}: d1_batch-query).`,
    apply(doc) {
      let changed = false;
      for (const name of ['query', 'raw']) {
        const content = ((doc.paths[`${base}/${name}`]!.post as JsonObject).requestBody as JsonObject).content as JsonObject;
        const body = content['application/json'] as JsonObject;
        if (JSON.stringify(body.schema).includes('batch')) continue;
        body.schema = ref('d1_batch-query');
        changed = true;
      }
      return changed;
    },
  },
  {
    id: 'later-components',
    why: `Components the later paths reference, and d1_query-meta's later fields (served_by_*, timings), from api-schemas ${later.commit.slice(0, 8)}.`,
    apply(doc) {
      let changed = false;
      for (const [name, schema] of Object.entries(later.schemas)) {
        if (schemas(doc)[name]) continue;
        schemas(doc)[name] = structuredClone(schema);
        changed = true;
      }
      const meta = schemas(doc)['d1_query-meta']!.properties as JsonObject;
      for (const [name, schema] of Object.entries(later.queryMetaProperties)) {
        if (meta[name]) continue;
        meta[name] = structuredClone(schema);
        changed = true;
      }
      return changed;
    },
  },
  {
    id: 'envelope-result-any',
    why: 'd1_api-response-common types `result` as an object, yet query and raw answer an array there (allOf makes that unsatisfiable): the common envelope leaves `result` to each operation.',
    apply(doc) {
      const result = (schemas(doc)['d1_api-response-common']!.properties as JsonObject).result as JsonObject;
      if (result.type !== 'object') return false;
      delete result.type;
      return true;
    },
  },
  {
    id: 'error-code-any',
    why: 'd1_messages requires code >= 1000, but the API rate limit answers code 971 (HTTP 429).',
    apply(doc) {
      const code = (((schemas(doc)['d1_messages']!.items as JsonObject).properties as JsonObject).code as JsonObject);
      if (code.minimum === undefined) return false;
      delete code.minimum;
      return true;
    },
  },
  {
    id: 'errors-min-items',
    why: 'The failure envelope says `minLength: 1` on the errors array, which JSON Schema ignores for arrays; the intent, at least one error, is `minItems: 1`.',
    apply(doc) {
      const errors = (schemas(doc)['d1_api-response-common-failure']!.properties as JsonObject).errors as JsonObject;
      if (errors.minLength === undefined) return false;
      delete errors.minLength;
      errors.minItems = 1;
      return true;
    },
  },
  {
    id: 'params-json-values',
    why: 'd1_params allows strings only; D1 binds JSON numbers and null as SQLite numbers and NULL, and the client sends them so (booleans it sends as 1/0, bigints as strings).',
    apply(doc) {
      const items = schemas(doc)['d1_params']!.items as JsonObject;
      if (items.type !== 'string') return false;
      schemas(doc)['d1_params']!.items = { anyOf: [{ type: 'string' }, { type: 'number' }, { enum: [null] }] };
      return true;
    },
  },
  {
    id: 'raw-rows-null',
    why: "d1_raw-result-response's row values are number, string or object, but a NULL column is JSON null (OpenAPI 3.0's `object` excludes null).",
    apply(doc) {
      const rows = ((schemas(doc)['d1_raw-result-response']!.properties as JsonObject).results as JsonObject).properties as JsonObject;
      const value = ((rows.rows as JsonObject).items as JsonObject).items as JsonObject;
      const anyOf = value.anyOf as Json[];
      if (JSON.stringify(anyOf).includes('null')) return false;
      anyOf.push({ enum: [null] });
      return true;
    },
  },
  {
    id: 'server-errors',
    why: 'Only 2xx and 4XX answers are described; D1 answers 5xx (e.g. 500, 503) with the same failure envelope.',
    apply(doc) {
      let changed = false;
      for (const operation of operations(doc)) {
        const responses = operation.responses as JsonObject;
        if (responses['5XX']) continue;
        responses['5XX'] = failure('Server error');
        changed = true;
      }
      return changed;
    },
  },
];

/** Names of every component schema `value` references, followed transitively through `doc`. */
function referencedSchemas(doc: OpenApi, value: Json, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) referencedSchemas(doc, v, found);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string') {
        const name = /^#\/components\/schemas\/(.+)$/.exec(v)?.[1];
        if (!name) throw new Error(`unsupported $ref ${v}`);
        if (found.has(name)) continue;
        found.add(name);
        const schema = doc.components.schemas?.[name];
        if (schema === undefined) throw new Error(`$ref to a missing schema: ${name}`);
        referencedSchemas(doc, schema, found);
      } else referencedSchemas(doc, v, found);
    }
  }
  return found;
}

/** The D1 subset of `full`, patched, with where it came from. */
export function vendorD1Schema(full: OpenApi, source: { commit: string; date: string }) {
  const paths = Object.fromEntries(d1Paths.filter((p) => full.paths[p]).map((p) => [p, structuredClone(full.paths[p]!)]));
  const doc: OpenApi = { openapi: full.openapi ?? '3.0.3', info: { title: 'Cloudflare API: the D1 paths of the warehouse', version: String((full.info as JsonObject | undefined)?.version ?? '') }, paths, components: { schemas: {} } };
  // Components first in full (the patches may read and change them), then only those referenced.
  doc.components.schemas = structuredClone(full.components.schemas ?? {});
  const applied = patches.filter((patch) => patch.apply(doc)).map(({ id, why }) => ({ id, why }));
  const missing = d1Paths.filter((p) => !doc.paths[p]);
  if (missing.length > 0) throw new Error(`the input lacks ${missing.join(', ')}`);
  const used = [...referencedSchemas(doc, doc.paths as Json)].sort();
  doc.components = { schemas: Object.fromEntries(used.map((name) => [name, doc.components.schemas![name]!])) };
  return {
    'x-vendored': {
      repository: 'https://github.com/cloudflare/api-schemas',
      file: 'openapi.json',
      commit: source.commit,
      commitDate: source.date,
      regenerate: `node scripts/vendor-d1-schema.ts <openapi.json of that commit> --commit ${source.commit} --date ${source.date}`,
      patches: applied,
    },
    ...doc,
  };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { commit: { type: 'string' }, date: { type: 'string' }, out: { type: 'string', default: 'd1/local-service/schema/d1-openapi.json' } },
  });
  const input = positionals[0];
  if (!input || !values.commit || !values.date) {
    throw new Error('usage: node scripts/vendor-d1-schema.ts <openapi.json> --commit <sha> --date <ISO date> [--out <file>]');
  }
  const full = JSON.parse(await readFile(input, 'utf8')) as OpenApi;
  const vendored = vendorD1Schema(full, { commit: values.commit, date: values.date });
  await writeFile(values.out, `${JSON.stringify(vendored, null, 2)}\n`);
  const applied = vendored['x-vendored'].patches.map((p) => p.id).join(', ') || 'none';
  console.log(`${values.out}: ${Object.keys(vendored.paths).length} paths, ${Object.keys(vendored.components.schemas ?? {}).length} schemas; patches: ${applied}`);
}

if (import.meta.main) await main();
