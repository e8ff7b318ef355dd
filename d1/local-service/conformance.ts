/**
 * Checks D1 API messages against Cloudflare's published D1 schema, vendored and pinned in
 * schema/d1-openapi.json (see schema/README.md): the local D1 service, in test mode, checks every
 * request body it receives and every JSON answer it sends, so no test passes against a D1 that
 * answers in shapes the real one does not.
 *
 * ajv 8 validates the OpenAPI 3.0 schemas as they are: it implements OpenAPI's `nullable`
 * keyword itself. `strict: false` because the document carries OpenAPI annotations that are not
 * JSON Schema keywords (`example`, `x-auditable`, `readOnly` on strings...); formats are not
 * checked (the only one, `date-time`, is in query parameters, not in bodies).
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/** One D1 API message: what was asked or answered, on which operation. */
export interface ConformanceMessage {
  direction: 'request' | 'response';
  method: string;
  /** The API path after `/client/v4`, e.g. `/accounts/a/d1/database/d/query`. */
  path: string;
  /** HTTP status of a response. */
  status?: number;
  /** The parsed JSON body; undefined when there was none. */
  body: unknown;
}

/** A way a message departs from the schema. */
export interface Violation {
  /** JSON pointer into the body (`/result/0/meta/changes`), empty for the whole body. */
  at: string;
  /** What is wrong, with the schema rule it breaks. */
  message: string;
}

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  spec: { requestBody?: { required?: boolean }; responses: Record<string, unknown> };
}

const schemaId = 'd1-openapi.json';
const failureEnvelope = `${schemaId}#/components/schemas/d1_api-response-common-failure`;

/** JSON pointer segment, then URI-encoded for a `$ref` (paths carry `/`, `{` and `}`). */
function segment(text: string): string {
  return encodeURIComponent(text.replace(/~/g, '~0').replace(/\//g, '~1'));
}

/** The schema's status key for a status: exact, then `4XX`-style, then `default`. */
function statusKey(responses: Record<string, unknown>, status: number): string | undefined {
  return [String(status), `${String(status)[0]}XX`, 'default'].find((key) => key in responses);
}

/** A validator of D1 API messages against the vendored schema. */
export class D1Conformance {
  readonly #ajv: Ajv;
  readonly #operations: Operation[];
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(document: { paths: Record<string, Record<string, Operation['spec']>> } = loadVendoredSchema()) {
    this.#ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    this.#ajv.addSchema({ ...document, $id: schemaId });
    this.#operations = Object.entries(document.paths).flatMap(([template, item]) =>
      Object.entries(item).map(([method, spec]) => ({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
        spec,
      })),
    );
  }

  /** The violations of one message; empty when it conforms. */
  check(message: ConformanceMessage): Violation[] {
    const operation = this.#operations.find((o) => o.method === message.method && o.pattern.test(message.path));
    if (message.direction === 'request') return operation ? this.#checkRequest(operation, message.body) : [];
    if (message.status === undefined) return [{ at: '', message: 'a response without a status' }];
    if (!operation) {
      // A path D1 does not serve (a wrong database id, a typo): Cloudflare answers the common failure envelope.
      if (message.status < 400) return [{ at: '', message: `${message.method} ${message.path} is not a D1 operation of the schema, yet answered ${message.status}` }];
      return this.#validate(failureEnvelope, message.body);
    }
    const key = statusKey(operation.spec.responses, message.status);
    if (!key) return [{ at: '', message: `status ${message.status} is not an answer the schema describes for ${operation.method} ${operation.template}` }];
    const pointer = `${this.#pointer(operation)}/responses/${segment(key)}/content/${segment('application/json')}/schema`;
    return this.#validate(pointer, message.body);
  }

  #checkRequest(operation: Operation, body: unknown): Violation[] {
    const requestBody = operation.spec.requestBody;
    if (!requestBody) return body === undefined ? [] : [{ at: '', message: `${operation.method} ${operation.template} takes no request body` }];
    if (body === undefined) return requestBody.required ? [{ at: '', message: `${operation.method} ${operation.template} requires a request body` }] : [];
    return this.#validate(`${this.#pointer(operation)}/requestBody/content/${segment('application/json')}/schema`, body);
  }

  #pointer(operation: Operation): string {
    return `${schemaId}#/paths/${segment(operation.template)}/${operation.method.toLowerCase()}`;
  }

  #validate(ref: string, body: unknown): Violation[] {
    let validate = this.#compiled.get(ref);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: ref });
      this.#compiled.set(ref, validate);
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map(violationOf);
  }
}

function violationOf(error: ErrorObject): Violation {
  const detail = error.params && Object.keys(error.params).length > 0 ? ` ${JSON.stringify(error.params)}` : '';
  return { at: error.instancePath, message: `${error.message ?? error.keyword}${detail} (schema ${decodeURIComponent(error.schemaPath)})` };
}

/** The pinned D1 subset of Cloudflare's schema that this service answers by. */
export function loadVendoredSchema(): { paths: Record<string, Record<string, Operation['spec']>> } {
  return JSON.parse(readFileSync(new URL('./schema/d1-openapi.json', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, Operation['spec']>> };
}
