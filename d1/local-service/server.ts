import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { LocalD1Database, statementsOf } from './database.ts';
import { HttpError, cloudflareErrorCodes, errorEnvelope, successEnvelope } from './envelope.ts';
import { FaultQueue, faultsAfterApply, type Fault } from './faults.ts';
import { LocalImports, importUploadPrefix } from './import.ts';
import { RandomFaultSource, faultCommandSchema } from './random-faults.ts';
import type { ConformanceLog } from './conformance-log.ts';

/** How to start the local D1 service. */
export interface LocalD1ServiceOptions {
  /** Directory that holds the persist directory and the Time Travel snapshots. */
  dataDir: string;
  /** Bearer token every request must carry. */
  apiToken: string;
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  accountId?: string;
  databaseId?: string;
  /** Time Travel retention (Cloudflare's paid plan: 30 days). */
  retentionDays?: number;
  /** Clock, replaceable in tests of retention. */
  now?: () => Date;
  /**
   * `collect` (tests): check every D1 API request body and JSON answer against Cloudflare's pinned
   * D1 schema (conformance.ts) and keep the violations; close() then fails with them. Default `off`.
   */
  conformance?: 'off' | 'collect';
}

/** A running local D1 service. */
export interface LocalD1Service {
  /** Base URL of the API, like Cloudflare's `https://api.cloudflare.com/client/v4`. */
  url: string;
  /** Origin for the `/__local/...` routes (health, faults, import uploads). */
  origin: string;
  port: number;
  accountId: string;
  databaseId: string;
  apiToken: string;
  /** In conformance mode, what was checked and what broke the schema; undefined when off. */
  conformance?: ConformanceLog;
  /** Stops the service; in conformance mode, throws the report of any violation collected. */
  close(): Promise<void>;
}

/** Default account and database ids of the local service. */
export const localDefaults = { accountId: 'local-account', databaseId: 'local-warehouse' } as const;

/** Where Cloudflare's API paths begin; the schema's paths follow it. */
const apiRoot = '/client/v4';
/** In conformance mode, the check each D1 API answer goes through as it is sent. */
const answerChecks = new WeakMap<ServerResponse, (status: number, body: object | undefined) => void>();

const maxBodyBytes = 100 * 1024 * 1024;
/** Largest SQL file an import upload accepts (it is held in memory). */
const maxUploadBytes = 512 * 1024 * 1024;

const statementSchema = z.object({ sql: z.string(), params: z.array(z.unknown()).optional() });
const queryBodySchema = z.union([z.object({ batch: z.array(statementSchema).min(1) }), statementSchema]);

/**
 * Starts the local D1 service: Miniflare's D1 behind D1's REST API on 127.0.0.1
 * (query, raw, batch, Time Travel, import), with fault injection for tests.
 */
export async function startLocalD1Service(options: LocalD1ServiceOptions): Promise<LocalD1Service> {
  const accountId = options.accountId ?? localDefaults.accountId;
  const databaseId = options.databaseId ?? localDefaults.databaseId;
  const database = new LocalD1Database({ dataDir: options.dataDir, retentionDays: options.retentionDays ?? 30, now: options.now ?? (() => new Date()) });
  await database.open();
  const faults = new FaultQueue();
  const randomFaults = new RandomFaultSource();
  const restoreLimit = new RestoreLimit(options.now ?? (() => new Date()));
  const expectedToken = Buffer.from(options.apiToken);
  const apiPrefix = `/client/v4/accounts/${accountId}/d1/database/${databaseId}/`;
  let origin = ''; // known once listening; upload URLs are only handed out after that
  const imports = new LocalImports({ database, uploadUrl: (filename) => `${origin}${importUploadPrefix}${filename}` });

  // Loaded only in test mode: the validator is a development dependency.
  const conformance = options.conformance === 'collect' ? new (await import('./conformance-log.ts')).ConformanceLog() : undefined;

  const server = createServer((req, res) => {
    if (conformance && req.url?.startsWith(apiRoot)) observeAnswer(conformance, req, res);
    handle(req, res).catch((error: unknown) => {
      const httpError = error instanceof HttpError ? error : new HttpError(500, cloudflareErrorCodes.internalError, error instanceof Error ? error.message : String(error));
      send(res, httpError.status, errorEnvelope(httpError.code, httpError.message), httpError.headers);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/__local/health' && req.method === 'GET') return send(res, 200, { ok: true });
    if (url.pathname.startsWith(importUploadPrefix) && req.method === 'PUT') return handleUpload(req, res, url.pathname);
    authorise(req);
    if (url.pathname === '/__local/faults') return handleFaults(req, res);
    if (!url.pathname.startsWith('/client/v4/')) throw new HttpError(404, cloudflareErrorCodes.notFound, `no route for ${req.method} ${url.pathname}`);
    if (!url.pathname.startsWith(apiPrefix)) throw new HttpError(404, cloudflareErrorCodes.databaseNotFound, 'database not found');

    const body = req.method === 'POST' ? await readJson(req) : undefined;
    conformance?.check({ direction: 'request', method: req.method ?? '', path: url.pathname.slice(apiRoot.length), body });
    const route = `${req.method} ${url.pathname.slice(apiPrefix.length)}`;
    const reply = replier(route, `${req.method} ${url.pathname}${url.search} ${body === undefined ? '' : JSON.stringify(body)}`, res);
    if (!reply) return;

    switch (route) {
      case 'POST query':
        imports.refuseQueriesWhileActive();
        return reply(200, successEnvelope(await database.query(readStatements(body))));
      case 'POST raw':
        imports.refuseQueriesWhileActive();
        return reply(200, successEnvelope(await database.raw(readStatements(body))));
      case 'GET time_travel/bookmark': {
        const timestamp = url.searchParams.get('timestamp');
        const bookmark = timestamp ? await database.bookmarkAt(parseTimestamp(timestamp)) : await database.currentBookmark();
        return reply(200, successEnvelope({ bookmark }));
      }
      case 'POST time_travel/restore': {
        const timestamp = url.searchParams.get('timestamp');
        const bookmark = url.searchParams.get('bookmark') ?? (timestamp ? await database.bookmarkAt(parseTimestamp(timestamp)) : undefined);
        if (!bookmark) throw new HttpError(400, cloudflareErrorCodes.invalidRequest, 'restore needs ?bookmark= or ?timestamp=');
        restoreLimit.admit();
        return reply(200, successEnvelope(await database.restore(bookmark)));
      }
      case 'POST import': {
        // As D1 does: an import still running answers 202, a finished or failed one 200.
        const result = await imports.handle(body);
        return reply((result as { status?: string }).status === 'active' ? 202 : 200, successEnvelope(result));
      }
      default:
        throw new HttpError(404, cloudflareErrorCodes.notFound, `no route for ${route}`);
    }
  }

  /** A PUT to an upload URL: like R2's presigned URLs, the unguessable filename is the credential, not the token. */
  async function handleUpload(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const bytes = await readBody(req, maxUploadBytes);
    const reply = replier('PUT import upload', `PUT ${path}`, res);
    if (!reply) return;
    const md5 = imports.store(path.slice(importUploadPrefix.length), bytes);
    return reply(200, undefined, { etag: `"${md5}"` });
  }

  /**
   * Takes the pending fault for a request, if any, else the one random mode draws for its route
   * (every request draws, to keep the seeded sequence). Returns undefined when the fault answered
   * it (or never will), else how to answer: `hang-after`, `drop-after` and `error-after` let the
   * request run, then lose or spoil its answer.
   */
  function replier(route: string, requestText: string, res: ServerResponse): ((status: number, payload?: object, headers?: Record<string, string>) => void) | undefined {
    const queued = faults.take(requestText);
    const fault = randomFaults.draw(route, queued !== undefined) ?? queued;
    if (fault && !faultsAfterApply.has(fault.kind)) {
      applyFault(fault, res);
      return undefined;
    }
    return fault ? () => applyFault(fault, res) : (status, payload, headers) => send(res, status, payload, headers);
  }

  function authorise(req: IncomingMessage): void {
    const header = req.headers.authorization;
    const match = header ? /^Bearer (.+)$/.exec(header) : null;
    if (!match) throw new HttpError(401, cloudflareErrorCodes.unableToAuthenticate, 'Unable to authenticate request');
    const given = Buffer.from(match[1]!);
    if (given.length !== expectedToken.length || !timingSafeEqual(given, expectedToken)) {
      throw new HttpError(403, cloudflareErrorCodes.authenticationError, 'Authentication error');
    }
  }

  async function handleFaults(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET') return send(res, 200, successEnvelope({ ...faults.state(), random: randomFaults.state() }));
    if (req.method === 'DELETE') {
      faults.clear();
      randomFaults.configure(null);
      return send(res, 200, successEnvelope({ cleared: true }));
    }
    if (req.method !== 'POST') throw new HttpError(404, cloudflareErrorCodes.notFound, 'faults: use GET, POST or DELETE');
    const parsed = faultCommandSchema.safeParse(await readJson(req));
    if (!parsed.success) throw new HttpError(400, cloudflareErrorCodes.invalidRequest, `invalid fault: ${z.prettifyError(parsed.error)}`);
    if ('random' in parsed.data) randomFaults.configure(parsed.data.random);
    else faults.add(parsed.data);
    return send(res, 200, successEnvelope(parsed.data));
  }

  function applyFault(fault: Fault, res: ServerResponse): void {
    if (fault.kind === '429') {
      return send(res, 429, errorEnvelope(cloudflareErrorCodes.rateLimited, 'Please wait and consider throttling your request speed'), { 'retry-after': String(fault.retryAfterSeconds) });
    }
    if (fault.kind === '500') return send(res, 500, errorEnvelope(cloudflareErrorCodes.internalError, 'Internal server error (injected fault)'));
    if (fault.kind === 'd1-error') {
      const reference = randomBytes(12).toString('hex');
      return send(res, fault.status ?? 400, errorEnvelope(fault.code ?? cloudflareErrorCodes.sqlError, fault.message ?? `internal error; reference = ${reference}`));
    }
    if (fault.kind === 'error-after') {
      return send(res, fault.status ?? 500, errorEnvelope(fault.code ?? cloudflareErrorCodes.sqlError, fault.message ?? 'D1_ERROR: Network connection lost.'));
    }
    if (fault.kind === 'html') return sendHtml(res, fault.status ?? 502);
    if (fault.kind === 'drop' || fault.kind === 'drop-after') {
      res.socket?.destroy();
      return;
    }
    // 'hang' and 'hang-after': never answer; the client's timeout ends it, or close() does.
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/client/v4`,
    origin,
    port,
    accountId,
    databaseId,
    apiToken: options.apiToken,
    ...(conformance ? { conformance } : {}),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
      const report = conformance?.report();
      if (report) throw new Error(`the local D1 service answered outside Cloudflare's D1 schema: ${report}`);
    },
  };
}

function readStatements(body: unknown) {
  const parsed = queryBodySchema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, cloudflareErrorCodes.invalidRequest, `invalid request body: ${z.prettifyError(parsed.error)}`);
  const statements = statementsOf(parsed.data);
  if (statements.length === 0) throw new HttpError(400, cloudflareErrorCodes.invalidRequest, 'invalid request body: no SQL statement');
  return statements;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, cloudflareErrorCodes.invalidRequest, `request body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req, maxBodyBytes);
  if (body.length === 0) return undefined; // e.g. a restore, whose parameters are in the query string
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, cloudflareErrorCodes.invalidRequest, 'invalid request body: not JSON');
  }
}

function parseTimestamp(text: string): Date {
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new HttpError(400, cloudflareErrorCodes.invalidRequest, `invalid timestamp: ${text}`);
  return at;
}

/**
 * Checks every JSON answer to a D1 API request (success and failure envelopes, injected faults
 * included). Exempt, as no JSON schema describes them: the edge's HTML pages (sendHtml), dropped
 * connections and hangs, and the import upload URL (R2's, not the D1 API).
 */
function observeAnswer(conformance: ConformanceLog, req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.slice(apiRoot.length);
  answerChecks.set(res, (status, body) => conformance.check({ direction: 'response', method: req.method ?? '', path, status, body }));
}

/** An error page like the ones Cloudflare's edge serves in front of an API (e.g. 502 Bad gateway, 524 A timeout occurred). */
function sendHtml(res: ServerResponse, status: number): void {
  const title = status === 524 ? 'A timeout occurred' : status === 502 ? 'Bad gateway' : 'Error';
  const text = `<!DOCTYPE html>\n<html><head><title>api.cloudflare.com | ${status}: ${title}</title></head><body><h1>Error ${status}</h1><p>${title}</p></body></html>\n`;
  res.writeHead(status, { 'content-type': 'text/html; charset=UTF-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** Answers with a JSON body, or with none when `body` is undefined (an upload's answer, like R2's). */
function send(res: ServerResponse, status: number, body: object | undefined, headers: Record<string, string> = {}): void {
  answerChecks.get(res)?.(status, body);
  const text = body === undefined ? '' : JSON.stringify(body);
  const type: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  res.writeHead(status, { ...type, 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** D1's limit on Time Travel: at most 10 restores of a database in any 10 minutes; beyond, a 429 says when to try again. */
class RestoreLimit {
  static readonly max = 10;
  static readonly windowMs = 10 * 60_000;
  readonly #now: () => Date;
  #recent: number[] = [];

  constructor(now: () => Date) {
    this.#now = now;
  }

  /** Counts a restore, or throws the 429 D1 answers when the window is full. */
  admit(): void {
    const now = this.#now().getTime();
    this.#recent = this.#recent.filter((at) => now - at < RestoreLimit.windowMs);
    if (this.#recent.length >= RestoreLimit.max) {
      const retryAfterSeconds = Math.ceil((this.#recent[0]! + RestoreLimit.windowMs - now) / 1000);
      throw new HttpError(429, cloudflareErrorCodes.rateLimited, `at most ${RestoreLimit.max} Time Travel restores per ${RestoreLimit.windowMs / 60_000} minutes`, { 'retry-after': String(retryAfterSeconds) });
    }
    this.#recent.push(now);
  }
}
