import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { z } from 'zod';
import { parseAllowedSigners, type ApproverKey } from '../activities/approver-keys.ts';
import { timeOfDayPattern } from '../common/zoned-time.ts';
import { sodiwinDialect } from '../contracts/types.ts';

/** Token of the local D1 service in development (it listens on 127.0.0.1 only). */
export const localDevToken = 'local-dev-token';

/** Rows stage packs into one chunk (STAGE_CHUNK_ROWS): a chunk fills about one D1 request of ~1 MB, as a bare bulk insert does. */
export const defaultStageChunkRows = 10_000;

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A duration in milliseconds, seconds, minutes or hours: `500ms`, `30s`, `30 seconds`, `2m`, `1 hour`. */
const durationPattern = /^\s*\d+\s*(ms|s|m|h|seconds?|minutes?|hours?)\s*$/;

/** Milliseconds of a duration that matches `durationPattern`. */
function durationMs(text: string): number {
  const [, amount = '0', unit = 'ms'] = /(\d+)\s*([a-z]+)/.exec(text) ?? [];
  const perUnit = unit === 'ms' ? 1 : { s: 1000, m: 60_000, h: 3_600_000 }[unit[0] as 's' | 'm' | 'h'];
  return Number(amount) * perUnit;
}

/** Every setting of the warehouse, read from the environment (or `.env`) once at start-up. */
const configSchema = z
  .object({
    TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().default('default'),
    TEMPORAL_TASK_QUEUE: z.string().default('sodimo-warehouse'),
    TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),
    /** mTLS to Temporal: the client certificate (PEM file) the worker and the CLI present; goes with TEMPORAL_TLS_KEY. */
    TEMPORAL_TLS_CERT: z.string().min(1).optional(),
    /** The private key (PEM file) of TEMPORAL_TLS_CERT. */
    TEMPORAL_TLS_KEY: z.string().min(1).optional(),
    /** The CA (PEM file) that signed the Temporal server's certificate; unset: the system's CAs. Setting any TEMPORAL_TLS_* turns TLS on. */
    TEMPORAL_TLS_CA: z.string().min(1).optional(),
    /** The name the server's certificate is checked against, when it is not TEMPORAL_ADDRESS's host. */
    TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
    D1_API_URL: z.url().default('http://127.0.0.1:8787/client/v4'),
    CLOUDFLARE_ACCOUNT_ID: z.string().min(1).default('local-account'),
    D1_DATABASE_ID: z.string().min(1).default('local-warehouse'),
    CLOUDFLARE_API_TOKEN: z.string().min(1).optional(),
    /** A token with D1 Read only, for the CLI's read paths (query, report, status, incidents, checksum); unset: CLOUDFLARE_API_TOKEN. */
    CLOUDFLARE_API_TOKEN_READ: z.string().min(1).optional(),
    D1_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
    WAREHOUSE_VAR_DIR: z.string().default('var'),
    /** The NAS root holding inbox/, archive/, quarantine/ (default: <var>/nas). */
    WAREHOUSE_NAS_DIR: z.string().optional(),
    /** How long an export's size must stay unchanged before it is taken. */
    EXPORT_STABLE_MS: z.coerce.number().int().min(0).default(2000),
    /** Local time (HH:MM[:SS], the day after the business date) by which a night's export must be complete; until then fetch waits for it. */
    EXPORT_DEADLINE: z.string().regex(timeOfDayPattern, 'must be HH:MM or HH:MM:SS').default('06:00'),
    /** How often fetch looks again for an export that has not arrived (before the deadline). */
    EXPORT_POLL_MS: z.coerce.number().int().positive().default(30_000),
    /** The time zone of the schedule and of the export deadline. */
    WAREHOUSE_TIMEZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Paris').default('Europe/Paris'),
    /** Local time (HH:MM, in WAREHOUSE_TIMEZONE) at which the schedule starts the nightly run. */
    SCHEDULE_TIME: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM').default('03:00'),
    /** After an outage, scheduled runs missed within this window still start (a Temporal duration: '1 day', '6 hours'). */
    SCHEDULE_CATCHUP_WINDOW: z.string().regex(/^\d+\s*(ms|s|m|h|d|seconds?|minutes?|hours?|days?)$/, "must be a duration such as '1 day' or '6h'").default('1 day'),
    /** The character encoding Sodiwin's exports are declared in. */
    SODIWIN_ENCODING: z.enum(['windows-1252', 'utf-8']).default('windows-1252'),
    /** Late corrections: each night looks for re-exports of this many previous days (0: only `warehouse recheck`). */
    RECHECK_DAYS: z.coerce.number().int().min(0).max(30).default(7),
    /** Rejected rows a file may have and still load (default: none). */
    REJECT_TOLERANCE: z.coerce.number().int().min(0).default(0),
    /** Rejected lines of a load kept, line by line, in etl_rejected_rows (`warehouse rejects`); beyond it they are counted only. */
    WAREHOUSE_REJECTED_ROWS_CAP: z.coerce.number().int().min(0).default(100_000),
    /** Child loadTable workflows a nightly run runs at once. */
    NIGHTLY_MAX_PARALLEL: z.coerce.number().int().min(1).max(13).default(4),
    /** Rows stage packs before it sends them: about 1 MB of literal INSERTs at 10,000 (the resume point is the last chunk D1 has). */
    STAGE_CHUNK_ROWS: z.coerce.number().int().min(100).max(50_000).default(defaultStageChunkRows),
    /** SMTP server for alerts, e.g. `smtp://user:pass@mail.sodimo.fr:587`; unset: alerts are `.eml` files under <var>/mail. */
    SMTP_URL: z.url().optional(),
    /** Let SMTP_URL's user and password go over `smtp://` without STARTTLS, i.e. readable on the network (default: refused). */
    SMTP_ALLOW_PLAINTEXT_AUTH: z.stringbool().default(false),
    /** Who receives alerts (comma-separated). */
    ALERT_TO: z.string().default('paul@sodimo.example'),
    ALERT_FROM: z.string().default('warehouse@sodimo.example'),
    /** Gone: approvers are the keys in APPROVER_PUBLIC_KEYS, never names. Set, it is refused with that explanation. */
    APPROVERS: z.string().optional(),
    /** The worker's list of approvers: an allowed_signers file (`name ssh-ed25519 AAAA…` per line). Default: <var>/approvers/allowed_signers. */
    APPROVER_PUBLIC_KEYS: z.string().min(1).optional(),
    /** The CLI user's own private approver key (PKCS#8 PEM). Default: ~/.config/sodimo-warehouse/approver.key. */
    APPROVER_KEY: z.string().min(1).optional(),
    /**
     * On SIGTERM/SIGINT, how long running activities may go on before they are cancelled (and retried
     * by the next worker): a duration such as '30s' or '2 minutes'.
     */
    WORKER_SHUTDOWN_GRACE: z.string().regex(durationPattern, "must be a duration such as '30s', '500ms' or '2 minutes'").default('30s').transform(durationMs),
    /** A prebuilt workflow bundle (the container image, tests); unset: the worker bundles at start. */
    WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  })
  .transform((env, ctx) => {
    const d1Url = new URL(env.D1_API_URL);
    const isLocal = loopbackHosts.has(d1Url.hostname);
    const apiToken = env.CLOUDFLARE_API_TOKEN ?? (isLocal ? localDevToken : undefined);
    if (!apiToken) {
      ctx.addIssue({ code: 'custom', path: ['CLOUDFLARE_API_TOKEN'], message: `required when D1_API_URL is not local (${d1Url.origin})` });
      return z.NEVER;
    }
    const { tls, problems: tlsProblems } = temporalTls(env);
    if (tlsProblems.length > 0) {
      for (const { variable, message } of tlsProblems) ctx.addIssue({ code: 'custom', path: [variable], message });
      return z.NEVER;
    }
    const d1 = { baseUrl: env.D1_API_URL.replace(/\/$/, ''), accountId: env.CLOUDFLARE_ACCOUNT_ID, databaseId: env.D1_DATABASE_ID, apiToken, timeoutMs: env.D1_TIMEOUT_MS, isLocal };
    const varDir = resolve(env.WAREHOUSE_VAR_DIR);
    if (env.APPROVERS !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['APPROVERS'], message: 'approvers are no longer names: list their public keys in APPROVER_PUBLIC_KEYS (see docs/runbook.md, "Approver keys") and remove APPROVERS' });
      return z.NEVER;
    }
    const keysFile = resolve(env.APPROVER_PUBLIC_KEYS ?? resolve(varDir, 'approvers', 'allowed_signers'));
    let approverKeys: ApproverKey[] = [];
    try {
      approverKeys = existsSync(keysFile) || env.APPROVER_PUBLIC_KEYS ? parseAllowedSigners(readFileSync(keysFile, 'utf8'), keysFile) : [];
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['APPROVER_PUBLIC_KEYS'], message: (error as NodeJS.ErrnoException).code ? `cannot read ${keysFile}` : (error as Error).message });
      return z.NEVER;
    }
    return {
      temporal: { address: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.TEMPORAL_TASK_QUEUE, uiUrl: env.TEMPORAL_UI_URL, tls },
      worker: { shutdownGraceMs: env.WORKER_SHUTDOWN_GRACE },
      d1,
      d1Read: { ...d1, apiToken: env.CLOUDFLARE_API_TOKEN_READ ?? apiToken },
      paths: { varDir, devDir: resolve(varDir, 'dev'), logDir: resolve(varDir, 'log'), nasDir: resolve(env.WAREHOUSE_NAS_DIR ?? resolve(varDir, 'nas')), workflowBundle: env.WORKFLOW_BUNDLE_PATH ? resolve(env.WORKFLOW_BUNDLE_PATH) : undefined },
      mail: { smtpUrl: env.SMTP_URL, allowPlaintextAuth: env.SMTP_ALLOW_PLAINTEXT_AUTH, mailDir: resolve(varDir, 'mail'), to: list(env.ALERT_TO), from: env.ALERT_FROM },
      approvers: { keysFile, keys: approverKeys, ownKeyFile: resolve(env.APPROVER_KEY ?? join(homedir(), '.config', 'sodimo-warehouse', 'approver.key')) },
      schedule: { time: env.SCHEDULE_TIME, timeZone: env.WAREHOUSE_TIMEZONE, catchupWindow: env.SCHEDULE_CATCHUP_WINDOW },
      load: {
        stableForMs: env.EXPORT_STABLE_MS,
        exportDeadline: { timeOfDay: env.EXPORT_DEADLINE, timeZone: env.WAREHOUSE_TIMEZONE },
        pollMs: env.EXPORT_POLL_MS,
        dialect: { ...sodiwinDialect, encoding: env.SODIWIN_ENCODING },
        rejectTolerance: env.REJECT_TOLERANCE,
        rejectedRowsCap: env.WAREHOUSE_REJECTED_ROWS_CAP,
        maxParallel: env.NIGHTLY_MAX_PARALLEL,
        recheckDays: env.RECHECK_DAYS,
        stageChunkRows: env.STAGE_CHUNK_ROWS,
      },
    };
  });

/** True for a time zone this runtime knows (IANA name). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The TEMPORAL_TLS_* settings, as given. */
interface TemporalTlsEnv {
  TEMPORAL_TLS_CERT?: string | undefined;
  TEMPORAL_TLS_KEY?: string | undefined;
  TEMPORAL_TLS_CA?: string | undefined;
  TEMPORAL_TLS_SERVER_NAME?: string | undefined;
}

/**
 * The TLS options of every connection to Temporal (worker, CLI, health check), undefined when
 * no TEMPORAL_TLS_* is set (plain TCP). The files are read here, once, so a wrong path stops
 * the start with its variable named instead of failing at the first connection.
 */
function temporalTls(env: TemporalTlsEnv): { tls?: TLSConfig; problems: { variable: string; message: string }[] } {
  const problems: { variable: string; message: string }[] = [];
  const read = (variable: keyof TemporalTlsEnv): Buffer | undefined => {
    const path = env[variable];
    if (path === undefined) return undefined;
    try {
      const pem = readFileSync(path);
      if (!pem.includes('-----BEGIN ')) problems.push({ variable, message: `${resolve(path)} is not a PEM file (no "-----BEGIN" line)` });
      return pem;
    } catch (error) {
      problems.push({ variable, message: `cannot read ${resolve(path)}: ${(error as Error).message}` });
      return undefined;
    }
  };
  if ((env.TEMPORAL_TLS_CERT === undefined) !== (env.TEMPORAL_TLS_KEY === undefined)) {
    const [missing, given] = env.TEMPORAL_TLS_CERT === undefined ? ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'] : ['TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CERT'];
    problems.push({ variable: missing, message: `required with ${given}: the client certificate and its private key go together (both for mTLS, or neither)` });
  }
  const crt = read('TEMPORAL_TLS_CERT');
  const key = read('TEMPORAL_TLS_KEY');
  const ca = read('TEMPORAL_TLS_CA');
  const serverName = env.TEMPORAL_TLS_SERVER_NAME;
  if (problems.length > 0 || (!crt && !ca && serverName === undefined)) return { problems };
  return {
    tls: { ...(crt && key ? { clientCertPair: { crt, key } } : {}), ...(ca ? { serverRootCACertificate: ca } : {}), ...(serverName ? { serverNameOverride: serverName } : {}) },
    problems,
  };
}

/** A comma-separated setting as a list, blanks dropped. */
function list(text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter(Boolean);
}

/** `<account>/<database>`: the warehouse an approval statement is signed for. */
export const warehouseIdOf = (config: Pick<Config, 'd1'>) => `${config.d1.accountId}/${config.d1.databaseId}`;

/** The parsed configuration. */
export type Config = z.output<typeof configSchema>;

/** A configuration problem, with every offending variable named. */
export class ConfigError extends Error {
  readonly type = 'ConfigError';
}

/**
 * Parses the environment into a Config, or throws a ConfigError that reads well in a terminal.
 * A variable set to the empty string (`SMTP_URL=` uncommented in `.env` as the example shows
 * it) counts as unset, so it takes its default instead of failing as an invalid value.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = configSchema.safeParse(given);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
