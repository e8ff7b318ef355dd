import { ApplicationFailure, getExternalWorkflowHandle, isCancellation, log, patched, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ArchivedExportInput, FetchedExport } from '../activities/fetch.ts';
import type { RowIssue } from '../common/errors.ts';
import { etlTableKey } from '../common/search-attributes.ts';
import { fetchActivity, localShortActivity, localStepActivity, localStepsMaxBytes, longActivity, shortActivity } from './activity-profiles.ts';
import { markEtlAttributes, type LoadTableEtlStatus } from './etl-search-attributes.ts';
import { describeFailure, loadFailureDetails } from './failures.ts';
import { reportStage, trackLoadStep } from './night-progress.ts';
import { fetchReadySummary, fetchSummary, loadStepSummaries as steps } from './summaries.ts';
import { exportDeferredSignal, incidentWorkflowId, type TableStageReport, type UnrevertedLoad } from './messages.ts';
import { openIncidentWorkflow } from './open-incident.ts';

/**
 * Patch marker: validation answers which open incident holds the table back (`heldBy`), in the
 * request that starts the load; histories before it ran `openIncidentFor` before validating.
 */
export const heldInValidatePatch = 'held-in-validate';

/**
 * Patch marker: a load first looks for its file in a local activity (fetchReadyExport), and waits for
 * it in fetchExport only when it is not there yet or still being written; a file of at most
 * `localStepsMaxBytes` is validated, staged, published and verified by local activities too
 * (activity-profiles.ts). Histories before it ran every step as an activity.
 */
export const localStepsPatch = 'local-steps';

const { fetchExport } = proxyActivities<Activities>(fetchActivity);
const { archivedExport } = proxyActivities<Activities>(shortActivity);
const { fetchReadyExport } = proxyLocalActivities<Activities>(localShortActivity);
const remoteSteps = proxyActivities<Activities>(longActivity);
const localSteps = proxyLocalActivities<Activities>(localStepActivity);
const { revertLoad, recordLoadFailure, quarantineExport, openIncidentFor, recordDeferredLoad } = proxyActivities<Activities>(shortActivity);

/** One table's export for one business date, within a nightly run. */
export interface LoadTableInput {
  table: string;
  businessDate: string;
  runId: string;
  /** Legacy: histories before signed approvals carried a list of names here. Ignored: who may approve is the worker's configuration. */
  approvers?: string[];
  /** Set when an incident's roll-forward replays this load: that incident does not hold it back. */
  repairOf?: string;
  /** Load this archived file instead of fetching from the inbox (rebuild from the archive). */
  archived?: Pick<ArchivedExportInput, 'fileName' | 'archivePath'>;
  /** false: a failure is recorded and reverted but neither quarantined nor turned into an incident (a scratch rebuild). Default true. */
  quarantine?: boolean;
  /** Until when the fetch waits for the file, as operators read it (`2026-03-06 06:00 Europe/Paris`): for its summary in the Web UI. */
  exportDeadline?: string;
  /** Set by nightly runs from before patch `stages-by-query`: each step reached is signalled to the night (its `progress` query). */
  reportStages?: boolean;
}

/** What happened to the table: loaded (with counts) or unchanged (this exact file is already loaded). */
export interface LoadTableResult {
  table: string;
  businessDate: string;
  status: 'loaded' | 'unchanged' | 'deferred';
  /** For a deferred load: the open incident holding the table back. */
  heldBy?: string;
  loadId: string;
  fileName: string;
  rowsRead: number;
  rowsRejected: number;
  versionsInserted: number;
  versionsClosed: number;
  tombstones: number;
}

/**
 * fetch → validate → stage → publish → verify for one table. Once publish may have
 * written, a failure compensates by revert-by-load, so the previous day stays
 * authoritative; the failure is recorded, the file quarantined, the incident opened (each
 * step even when one before it failed) and the failure rethrown with its stable type.
 */
export async function loadTable(input: LoadTableInput): Promise<LoadTableResult> {
  const { table, businessDate } = input;
  // Its parent starts it with its search attributes; one that did not (started by hand) sets them itself.
  if (workflowInfo().typedSearchAttributes.get(etlTableKey) === undefined) markEtlAttributes({ businessDate, table, status: 'running' satisfies LoadTableEtlStatus });
  try {
    const result = await loadWithCompensation(input);
    markEtlAttributes({ status: result.status satisfies LoadTableEtlStatus });
    return result;
  } catch (error) {
    const status: LoadTableEtlStatus = isCancellation(error) ? 'cancelled' : input.quarantine === false ? 'failed' : 'quarantined';
    markEtlAttributes({ status });
    throw error;
  }
}

/** The load's steps and, when one fails, its compensation, record, quarantine and incident. */
async function loadWithCompensation(input: LoadTableInput): Promise<LoadTableResult> {
  const { table, businessDate, runId } = input;
  /** Saga steps, newest first; each names the load it reverts, for the incident when it fails. */
  const compensations: { loadId: string; run: () => Promise<void> }[] = [];
  const stepIs = trackLoadStep(input);
  /** Its `loadStep` query answers the step reached; a night from before `stages-by-query` is also told. */
  const reached = (report: TableStageReport) => {
    stepIs(report);
    return reportStage(input.reportStages, report);
  };
  let fetched: FetchedExport | undefined;
  try {
    const local = patched(localStepsPatch);
    const waitForExport = () => fetchExport.executeWithOptions({ summary: fetchSummary(table, businessDate, input.exportDeadline) }, [{ table, businessDate }]);
    if (input.archived) fetched = await archivedExport.executeWithOptions({ summary: steps.archived(input.archived.fileName) }, [{ table, businessDate, ...input.archived }]);
    else if (!local) fetched = await waitForExport();
    else {
      // A file already complete (the usual night) is taken in the workflow task; a late one is waited for, heartbeating.
      const ready = await fetchReadyExport.executeWithOptions({ summary: fetchReadySummary(table, businessDate) }, [{ table, businessDate }]);
      fetched = 'notReady' in ready ? await waitForExport() : ready;
    }
    const { fileName } = fetched;
    const base = { table, businessDate, loadId: fetched.loadId, fileName: fetched.fileName };
    if (fetched.alreadyLoaded) {
      // Verified by this very run: its local steps ran again after a worker died (their results were not recorded yet). It is the load it was.
      const own = fetched.verified?.runId === runId ? fetched.verified : undefined;
      if (own) return { ...base, status: 'loaded', rowsRead: own.rowsRead, rowsRejected: own.rowsRejected, versionsInserted: own.versionsInserted, versionsClosed: own.versionsClosed, tombstones: own.tombstones };
      return { ...base, status: 'unchanged', rowsRead: 0, rowsRejected: 0, versionsInserted: 0, versionsClosed: 0, tombstones: 0 };
    }
    // Validation reads the incident holding the table in the request that starts the load; histories before asked first.
    const heldInValidate = patched(heldInValidatePatch);
    // A small file's four steps run in the worker's workflow task.
    const { validateExport, stageExport, publishLoad, verifyLoad } = local && fetched.bytes <= localStepsMaxBytes ? localSteps : remoteSteps;
    const asked = heldInValidate ? undefined : await openIncidentFor.executeWithOptions({ summary: steps.openIncidentFor(table) }, [{ table }]);
    await reached({ table, stage: 'validate' });
    const validated = await validateExport.executeWithOptions({ summary: steps.validate(fileName, table) }, [{ table, businessDate, runId, fetched }]);
    // A report without the answer (validated by a worker from before the patch) is asked again.
    const open = !heldInValidate ? asked : validated.heldBy !== undefined ? validated.heldBy : await openIncidentFor.executeWithOptions({ summary: steps.openIncidentFor(table) }, [{ table }]);
    const held = open && open.incidentId !== input.repairOf ? open : undefined;
    if (held) {
      // Loading on top of a missing day would corrupt history: archive, validate, and leave it to the incident.
      await recordDeferredLoad.executeWithOptions({ summary: steps.deferred(fileName, held.incidentId) }, [{ incidentId: held.incidentId, table, businessDate, loadId: fetched.loadId, archivePath: fetched.archivePath }]);
      await getExternalWorkflowHandle(held.incidentId).signal(exportDeferredSignal, { businessDate, loadId: fetched.loadId, table });
      return { ...base, status: 'deferred', heldBy: held.incidentId, rowsRead: validated.rowsRead, rowsRejected: validated.rowsRejected, versionsInserted: 0, versionsClosed: 0, tombstones: 0 };
    }
    const load = { table, businessDate, loadId: fetched.loadId, fileName: fetched.fileName };
    // From here the load writes: a failed stage leaves rows in _stage_<table>, publish may half-apply; revert covers both.
    compensations.unshift({ loadId: load.loadId, run: () => revertLoad.executeWithOptions({ summary: steps.revert(table, load.loadId) }, [{ table, loadId: load.loadId }]) });
    await reached({ table, stage: 'stage', rows: validated.rowsValid });
    const staged = await stageExport.executeWithOptions({ summary: steps.stage(fileName, validated.rowsValid, table) }, [{ ...load, archivePath: fetched.archivePath, ...(validated.spool ? { spool: validated.spool } : {}) }]);
    await reached({ table, stage: 'publish' });
    const published = await publishLoad.executeWithOptions({ summary: steps.publish(table, businessDate) }, [load]);
    await reached({ table, stage: 'verify' });
    await verifyLoad.executeWithOptions({ summary: steps.verify(table, businessDate) }, [{ ...load, validated, staged, published }]);
    return { ...base, status: 'loaded', rowsRead: validated.rowsRead, rowsRejected: validated.rowsRejected, ...published };
  } catch (error) {
    const failure = describeFailure(error);
    log.warn('table load failed', { table, businessDate, ...failure });
    // On the way to the incident nothing may stop the alarm: a step that fails is noted in it instead.
    const alsoFailed: string[] = [];
    const noting = async (what: string, step: () => Promise<unknown>): Promise<string | undefined> => {
      try {
        await step();
        return undefined;
      } catch (stepError) {
        alsoFailed.push(`${what}: ${describeFailure(stepError).message}`);
        log.error('step towards the incident failed', { table, businessDate, what, ...describeFailure(stepError) });
        return describeFailure(stepError).message;
      }
    };
    // Each step runs whatever the one before did: a revert that failed leaves part of the load in the table, which the incident says and its repair reverts again.
    let unreverted: UnrevertedLoad | undefined;
    for (const compensate of compensations) {
      const revertError = await noting(`the revert of load ${compensate.loadId} did not complete, ${table} may hold part of its ${businessDate} load`, compensate.run);
      if (revertError !== undefined) unreverted ??= { loadId: compensate.loadId, error: revertError };
    }
    await noting('the failure could not be recorded in etl_loads', () =>
      recordLoadFailure.executeWithOptions({ summary: steps.recordFailure(table, businessDate, failure.type) }, [{
        runId,
        table,
        businessDate,
        loadId: fetched?.loadId,
        fileName: fetched?.fileName,
        sha256: fetched?.sha256,
        errorType: failure.type,
        errorDetail: failure.message,
        reverted: compensations.length > 0 && !unreverted,
      }]),
    );
    if (input.quarantine === false) {
      throw ApplicationFailure.create({ type: failure.type, message: failure.message, nonRetryable: true, details: loadFailureDetails(failure.details, unreverted) });
    }
    let quarantineDir = '(not written)';
    await noting('the file could not be quarantined', async () => {
      const quarantined = await quarantineExport.executeWithOptions({ summary: steps.quarantine(table, businessDate) }, [{
        table,
        businessDate,
        workflowId: workflowInfo().workflowId,
        errorType: failure.type,
        message: failure.message,
        details: failure.details,
        ...(fetched ? { fetched: { loadId: fetched.loadId, fileName: fetched.fileName, archivePath: fetched.archivePath, sha256: fetched.sha256 } } : {}),
      }]);
      quarantineDir = quarantined.dir;
    });
    const message = alsoFailed.length > 0 ? `${failure.message} [and: ${alsoFailed.join('; ')}]` : failure.message;
    // incident-<table>-<date> outlives this run; a second failure of the same day finds it open.
    await openIncidentWorkflow(incidentWorkflowId(table, businessDate), {
      table,
      businessDate,
      errorType: failure.type,
      message,
      ...(issuesOf(failure.details) ? { issues: issuesOf(failure.details) } : {}),
      quarantineDir,
      ...(fetched?.sha256 ? { sha256: fetched.sha256 } : {}),
      ...(unreverted ? { unreverted } : {}),
    });
    throw ApplicationFailure.create({ type: failure.type, message: `${message} (quarantined in ${quarantineDir}; incident ${incidentWorkflowId(table, businessDate)})`, nonRetryable: true, details: loadFailureDetails(failure.details, unreverted) });
  }
}

/** The first rejected rows carried by a data error's details, if any. */
function issuesOf(details: unknown): RowIssue[] | undefined {
  const issues = (details as { issues?: unknown } | null | undefined)?.issues;
  return Array.isArray(issues) ? (issues as RowIssue[]).slice(0, 100) : undefined;
}
