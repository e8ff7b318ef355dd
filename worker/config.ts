import { resolve } from 'node:path';
import { z } from 'zod';
import { timeOfDayPattern } from '../common/zoned-time.ts';
import { sodiwinDialect } from '../contracts/types.ts';

/** Token of the local D1 service in development (it listens on 127.0.0.1 only). */
export const localDevToken = 'local-dev-token';

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Every setting of the warehouse, read from the environment (or `.env`) once at start-up. */
const configSchema = z
  .object({
    TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().default('default'),
    TEMPORAL_TASK_QUEUE: z.string().default('sodimo-warehouse'),
    TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),
    D1_API_URL: z.url().default('http://127.0.0.1:8787/client/v4'),
    CLOUDFLARE_ACCOUNT_ID: z.string().min(1).default('local-account'),
    D1_DATABASE_ID: z.string().min(1).default('local-warehouse'),
    CLOUDFLARE_API_TOKEN: z.string().min(1).optional(),
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
    /** Child loadTable workflows a nightly run runs at once. */
    NIGHTLY_MAX_PARALLEL: z.coerce.number().int().min(1).max(13).default(4),
    /** SMTP server for alerts, e.g. `smtp://user:pass@mail.sodimo.fr:587`; unset: alerts are `.eml` files under <var>/mail. */
    SMTP_URL: z.url().optional(),
    /** Who receives alerts (comma-separated). */
    ALERT_TO: z.string().default('paul@sodimo.example'),
    ALERT_FROM: z.string().default('warehouse@sodimo.example'),
    /** Who may approve a rollback (comma-separated names, as given to `warehouse approve --by`). */
    APPROVERS: z.string().default('paul'),
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
    const varDir = resolve(env.WAREHOUSE_VAR_DIR);
    return {
      temporal: { address: env.TEMPORAL_ADDRESS, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.TEMPORAL_TASK_QUEUE, uiUrl: env.TEMPORAL_UI_URL },
      d1: { baseUrl: env.D1_API_URL.replace(/\/$/, ''), accountId: env.CLOUDFLARE_ACCOUNT_ID, databaseId: env.D1_DATABASE_ID, apiToken, timeoutMs: env.D1_TIMEOUT_MS, isLocal },
      paths: { varDir, devDir: resolve(varDir, 'dev'), logDir: resolve(varDir, 'log'), nasDir: resolve(env.WAREHOUSE_NAS_DIR ?? resolve(varDir, 'nas')), workflowBundle: env.WORKFLOW_BUNDLE_PATH ? resolve(env.WORKFLOW_BUNDLE_PATH) : undefined },
      mail: { smtpUrl: env.SMTP_URL, mailDir: resolve(varDir, 'mail'), to: list(env.ALERT_TO), from: env.ALERT_FROM },
      approvers: list(env.APPROVERS),
      schedule: { time: env.SCHEDULE_TIME, timeZone: env.WAREHOUSE_TIMEZONE, catchupWindow: env.SCHEDULE_CATCHUP_WINDOW },
      load: {
        stableForMs: env.EXPORT_STABLE_MS,
        exportDeadline: { timeOfDay: env.EXPORT_DEADLINE, timeZone: env.WAREHOUSE_TIMEZONE },
        pollMs: env.EXPORT_POLL_MS,
        dialect: { ...sodiwinDialect, encoding: env.SODIWIN_ENCODING },
        rejectTolerance: env.REJECT_TOLERANCE,
        maxParallel: env.NIGHTLY_MAX_PARALLEL,
        recheckDays: env.RECHECK_DAYS,
        stageChunkRows: 2000,
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

/** A comma-separated setting as a list, blanks dropped. */
function list(text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter(Boolean);
}

/** The parsed configuration. */
export type Config = z.output<typeof configSchema>;

/** A configuration problem, with every offending variable named. */
export class ConfigError extends Error {
  readonly type = 'ConfigError';
}

/** Parses the environment into a Config, or throws a ConfigError that reads well in a terminal. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
