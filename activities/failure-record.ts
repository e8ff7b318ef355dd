import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative } from 'node:path';
import { activityInfo, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { nonRetryableD1ErrorTypes } from '../common/d1-error-types.ts';
import { fullDetailOf, type EtlErrorDetails } from '../common/errors.ts';
import { d1ErrorType } from '../d1/errors.ts';
import { failureDetailPathFor, type NasLayout } from './nas.ts';

/** The steps of a table's load (DESIGN §4), as reason.json names them. */
export type LoadStep = 'fetch' | 'validate' | 'stage' | 'publish' | 'verify';

/**
 * Everything known about the failure that ended a load step, uncapped: what reason.json
 * holds. The history, etl_loads and the email carry the capped message only.
 */
export interface FailureRecord {
  step: LoadStep;
  /** The activity that failed, e.g. `publishLoad`, and its attempt. */
  activity: string;
  attempt: number;
  table: string;
  businessDate: string;
  file: string | null;
  loadId: string | null;
  errorType: string;
  /** The full message (the failure in the history may carry it capped). */
  message: string;
  /** The full details: position, every rejected row, a reconciliation's measures. */
  details: EtlErrorDetails | null;
  /** For a D1 error: what the client knew (operation, API path, HTTP status, code, D1's message, statement, attempts, cause). */
  d1?: Record<string, unknown>;
}

/** The fields a load step's input names its table, date, file and load with. */
interface StepInput {
  table: string;
  businessDate: string;
  loadId?: string;
  fileName?: string;
  fetched?: { loadId?: string; fileName?: string };
}

/**
 * Wraps the activities of one load step: when one fails for good (a non-retryable error, or
 * its last attempt), the full failure is written under `reports/<date>/` as a FailureRecord
 * named by its message (`failureDetailPathFor`), and a capped data error points to it
 * (`fullDetailFile`). Quarantine copies it into reason.json. The failure itself is rethrown
 * unchanged; a record that cannot be written is logged, never in the way of the failure.
 */
export function recordingFailures<A extends Record<string, (input: never) => Promise<unknown>>>(nas: NasLayout, step: LoadStep, activities: A): A {
  const wrapped: Record<string, (input: StepInput) => Promise<unknown>> = {};
  for (const [name, activity] of Object.entries(activities) as [string, (input: StepInput) => Promise<unknown>][]) {
    wrapped[name] = async (input: StepInput) => {
      try {
        return await activity(input);
      } catch (error) {
        if (endsTheActivity(error)) await keepRecord(nas, step, input, error);
        throw error;
      }
    };
  }
  return wrapped as unknown as A;
}

/** The failure record kept for this failure of a load, if any: the one its details point to, else the one its message names. */
export async function failureRecordFor(nas: NasLayout, failure: { table: string; businessDate: string; message: string; details?: unknown; loadId?: string }): Promise<Partial<FailureRecord> | undefined> {
  const pointer = (failure.details as { fullDetailFile?: unknown } | null | undefined)?.fullDetailFile;
  const path = typeof pointer === 'string' ? pointer : failureDetailPathFor(nas, failure.businessDate, failure.table, failure.message);
  const rel = relative(nas.reports, path);
  if (rel.startsWith('..') || isAbsolute(rel)) return undefined;
  let record: Partial<FailureRecord>;
  try {
    record = JSON.parse(await readFile(path, 'utf8')) as Partial<FailureRecord>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || typeof pointer === 'string') {
      log.warn('the full failure detail is unreadable; reason.json keeps the capped one', { table: failure.table, businessDate: failure.businessDate, path, error: String(error) });
    }
    return undefined;
  }
  // Another load of the same day that failed with the same words is not this one.
  if (record.loadId && failure.loadId && record.loadId !== failure.loadId) return undefined;
  return record;
}

/**
 * True when Temporal will not retry this failure: non-retryable, of a type the retry policy
 * stops at, or the last attempt. The permanent D1 errors are known here too: an activity's
 * first attempt handed out eagerly comes without its retry policy on servers without
 * temporalio/temporal#11357 (the dev server 1.29.1 here), and every profile stops at them.
 */
function endsTheActivity(error: unknown): boolean {
  if (error instanceof ApplicationFailure && error.nonRetryable) return true;
  const info = activityInfo();
  const type = error instanceof ApplicationFailure ? error.type : error instanceof Error ? error.name : undefined;
  if (type && (info.retryPolicy?.nonRetryableErrorTypes?.includes(type) || (nonRetryableD1ErrorTypes as readonly string[]).includes(type))) return true;
  const maximumAttempts = info.retryPolicy?.maximumAttempts;
  return maximumAttempts !== undefined && maximumAttempts > 0 && info.attempt >= maximumAttempts;
}

async function keepRecord(nas: NasLayout, step: LoadStep, input: StepInput, error: unknown): Promise<void> {
  const failure = error instanceof Error ? error : new Error(String(error));
  const full = fullDetailOf(error);
  const capped = error instanceof ApplicationFailure ? (error.details?.[0] as EtlErrorDetails | undefined) : undefined;
  const info = activityInfo();
  const record: FailureRecord = {
    step,
    activity: info.activityType,
    attempt: info.attempt,
    table: input.table,
    businessDate: input.businessDate,
    file: input.fileName ?? input.fetched?.fileName ?? capped?.file ?? null,
    loadId: input.loadId ?? input.fetched?.loadId ?? null,
    errorType: error instanceof ApplicationFailure ? (error.type ?? failure.name) : failure.name,
    message: full?.message ?? failure.message,
    details: full?.details ?? (capped && typeof capped === 'object' ? capped : null),
    ...(d1ErrorType(error) ? { d1: d1Facts(error as Error) } : {}),
  };
  const path = failureDetailPathFor(nas, input.businessDate, input.table, failure.message);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(record, null, 2)}\n`);
    if (capped && typeof capped === 'object') capped.fullDetailFile = path;
  } catch (writeError) {
    log.warn('the full failure detail could not be kept', { table: input.table, businessDate: input.businessDate, step, path, error: String(writeError) });
  }
}

/** A D1 client error's own fields (its toJSON: operation, path, status, attempts, code, D1's message, statement index, cause), without the stack. */
function d1Facts(error: Error): Record<string, unknown> {
  const json = (error as Error & { toJSON?: () => Record<string, unknown> }).toJSON?.() ?? { name: error.name, message: error.message };
  return Object.fromEntries(Object.entries(json).filter(([key]) => key !== 'stack' && key !== 'failure'));
}
