/**
 * A bench-only HTTP proxy in front of the local D1 service that counts the worker's D1 API
 * requests, per route and per table, without a line of product code knowing about it.
 *
 * A request is attributed to a table when its SQL names one table of the contracts (the
 * history table, `_stage_<t>`, `<t>_current`, or the table's name as a value, as in
 * `etl_loads`); when it names several, to the one named first; when none, to `night` (the
 * run's own requests: bookmark, lease, runs, migrations, re-check), searched for in the first
 * 2,000 characters of each statement and of its parameters.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { tableContracts } from '../contracts/index.ts';

/** What the proxy counted since the last reset. */
export interface D1Counts {
  requests: number;
  byRoute: Record<string, number>;
  byTable: Record<string, number>;
  /** Seconds from a request's arrival to the end of its answer, summed per table (parallel requests overlap). */
  secondsByTable: Record<string, number>;
  /** SQL statements sent (a batch counts each of its statements). */
  statements: number;
  /** Every request: when it arrived (epoch ms, the clock Temporal's event times use), its table and its seconds. */
  log: { atMs: number; table: string; seconds: number }[];
}

/** A running counting proxy. */
export interface D1Counter {
  /** The D1 API base URL to give the worker (`…/client/v4`). */
  url: string;
  /** The counts so far, then zero again. */
  take(): D1Counts;
  close(): Promise<void>;
}

const tablePatterns = tableContracts.map((c) => ({ table: c.table, pattern: new RegExp(`(?<![A-Za-z0-9])${c.table}(?![A-Za-z0-9])`) }));

/** The table a request's SQL text names first, or `night`. */
export function attributeTable(text: string): string {
  let best: { table: string; at: number } | undefined;
  for (const { table, pattern } of tablePatterns) {
    const at = text.search(pattern);
    if (at >= 0 && (!best || at < best.at)) best = { table, at };
  }
  return best?.table ?? 'night';
}

/** Characters of a statement's SQL and of its parameters searched for a table name: names come first (INSERT INTO, FROM, a key's value). */
const namingChars = 2_000;

function statementsOf(body: string): { text: string; count: number } {
  try {
    const parsed = JSON.parse(body) as { sql?: string; params?: unknown[]; batch?: { sql: string; params?: unknown[] }[] };
    const statements = parsed.batch ?? (parsed.sql === undefined ? [] : [parsed]);
    // A stage request is a megabyte of literal rows: its head names the table, the rest would cost the bench's CPU.
    return { text: statements.map((s) => `${(s.sql ?? '').slice(0, namingChars)} ${JSON.stringify(s.params ?? []).slice(0, namingChars)}`).join('\n'), count: statements.length };
  } catch {
    return { text: '', count: 0 };
  }
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

const zero = (): D1Counts => ({ requests: 0, byRoute: {}, byTable: {}, secondsByTable: {}, statements: 0, log: [] });

/** Listens on 127.0.0.1 (a free port) and forwards every request to `target` (the service's origin). */
export async function startD1Counter(target: string): Promise<D1Counter> {
  const origin = new URL(target);
  // Connections to the service are kept open, as the worker's own client keeps its own: no TCP handshake per request.
  const agent = new Agent({ keepAlive: true });
  let counts = zero();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const arrived = performance.now();
      const atMs = Date.now();
      const body = await readAll(req);
      const route = `${req.method} ${(req.url ?? '').replace(/^.*\/d1\/database\/[^/]+\//, '').replace(/\?.*$/, '')}`;
      const { text, count } = statementsOf(body.toString('utf8'));
      counts.requests += 1;
      counts.statements += count;
      counts.byRoute[route] = (counts.byRoute[route] ?? 0) + 1;
      const table = attributeTable(text);
      counts.byTable[table] = (counts.byTable[table] ?? 0) + 1;
      const counted = counts;
      const upstream = httpRequest({ agent, host: origin.hostname, port: origin.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.once('end', () => {
          const seconds = (performance.now() - arrived) / 1000;
          counted.secondsByTable[table] = (counted.secondsByTable[table] ?? 0) + seconds;
          counted.log.push({ atMs, table, seconds });
        });
      });
      upstream.once('error', () => res.destroy());
      upstream.end(body);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/client/v4`,
    take() {
      const taken = counts;
      counts = zero();
      return taken;
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
