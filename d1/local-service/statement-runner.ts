import type { Miniflare } from 'miniflare';

/**
 * Runs a request's statements inside workerd, next to the database, as D1 itself does.
 *
 * Miniflare's `getD1Database()` hands Node a proxy whose every `prepare` and `bind` is a round
 * trip to workerd: a batch of 200 statements cost 200 of them (6.4 s under load, against 0.09 s
 * here). This worker takes the whole request in one `dispatchFetch` and answers in one.
 */

/** A statement as the worker receives it. */
export interface RunnerStatement {
  sql: string;
  params?: unknown[] | undefined;
}

/** What the binding gives for one statement: its rows as objects and D1's meta. */
export interface RunnerResult {
  results: Record<string, unknown>[];
  meta: Record<string, unknown>;
}

/** A single statement's rows as arrays, with its column names (`raw({ columnNames: true })`). */
export interface RunnerRaw {
  columns: string[];
  rows: unknown[][];
}

/** The binding refused the request; `message` is its error text (`D1_ERROR: ` prefix kept). */
export class RunnerError extends Error {}

/**
 * The worker. `all` runs one statement with `.all()` and several as one `batch` (one transaction);
 * `raw` runs one statement with `.raw({ columnNames: true })`. Blobs travel as arrays of bytes.
 */
export const statementRunnerScript = `
const prepare = (db, s) => {
  const statement = db.prepare(s.sql);
  return s.params && s.params.length > 0 ? statement.bind(...s.params) : statement;
};
const bytes = (_key, value) => (value instanceof ArrayBuffer ? Array.from(new Uint8Array(value)) : value);
export default {
  async fetch(request, env) {
    const { mode, statements } = await request.json();
    try {
      const prepared = statements.map((s) => prepare(env.DB, s));
      let answer;
      if (mode === 'raw') answer = await prepared[0].raw({ columnNames: true });
      else answer = prepared.length === 1 ? [await prepared[0].all()] : await env.DB.batch(prepared);
      return new Response(JSON.stringify({ ok: true, answer }, bytes), { headers: { 'content-type': 'application/json' } });
    } catch (error) {
      return Response.json({ ok: false, message: String((error && error.message) || error) });
    }
  },
};
`;

/** Sends statements to the runner and returns the binding's answer, or throws RunnerError. */
async function send(mf: Miniflare, mode: 'all' | 'raw', statements: readonly RunnerStatement[]): Promise<unknown> {
  const response = await mf.dispatchFetch('http://local-d1/', { method: 'POST', body: JSON.stringify({ mode, statements }) });
  const body = (await response.json()) as { ok: true; answer: unknown } | { ok: false; message: string };
  if (!body.ok) throw new RunnerError(body.message);
  return body.answer;
}

/** One statement with `.all()`, or several as one atomic batch. */
export async function runAll(mf: Miniflare, statements: readonly RunnerStatement[]): Promise<RunnerResult[]> {
  const results = (await send(mf, 'all', statements)) as { results?: Record<string, unknown>[]; meta?: Record<string, unknown> }[];
  return results.map((r) => ({ results: r.results ?? [], meta: r.meta ?? {} }));
}

/** One statement's rows as arrays with their column names. */
export async function runRaw(mf: Miniflare, statement: RunnerStatement): Promise<RunnerRaw> {
  const [columns = [], ...rows] = (await send(mf, 'raw', [statement])) as unknown[][];
  return { columns: columns as string[], rows };
}
