import { condition, continueAsNew, getExternalWorkflowHandle, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { shortActivity } from './activity-profiles.ts';
import { describeFailure } from './failures.ts';
import { isLeaseRelease, isLeaseRequest, leaseAnswerSignal, leaseStateQuery, releaseLeaseSignal, requestLeaseSignal, type LeaseAnswer, type WarehouseLeaseInput } from './lease-messages.ts';
import { blockingHolders, dropChains, emptyLease, releaseLease, requestLease, type LeaseChange } from './lease-state.ts';

const { closedLeaseChains } = proxyActivities<Activities>(shortActivity);

/** Grants blocking a waiting request are checked against the server this often (a holder terminated never released). */
const defaultLivenessCheckMs = 2 * 60_000;
/** Continue as new well before the history grows long (each request and release is a handful of events). */
const maxHistoryEvents = 5_000;

/**
 * warehouse-lease-<task queue> (DESIGN §7, "One writer at a time"): a readers-writer lease on
 * the whole warehouse. Loads hold it shared, a whole-warehouse restore exclusive; the rules are
 * in lease-state.ts. Requests and releases are signals; each request is answered by a signal
 * to the requester (queued, then granted; or granted at once). A holder releases in a
 * `finally`; one that cannot (terminated, timed out) is found out when its grant blocks
 * someone: the worker's client is asked whether its run is still going, and if not the grant
 * is dropped. Runs for ever, continuing as new with its state.
 */
export async function warehouseLease(input: WarehouseLeaseInput = {}): Promise<never> {
  let state = input.state ?? emptyLease();
  const outbox: LeaseAnswer[] = [];
  const now = () => new Date().toISOString();
  const apply = (change: LeaseChange) => {
    state = change.state;
    outbox.push(...change.answers);
  };
  setHandler(leaseStateQuery, () => state);
  // A malformed signal is logged and ignored: it must neither fail the workflow task nor be granted anything.
  setHandler(requestLeaseSignal, (request: unknown) => {
    if (isLeaseRequest(request)) apply(requestLease(state, request, now()));
    else log.warn('malformed lease request ignored', { request: JSON.stringify(request)?.slice(0, 200) });
  });
  setHandler(releaseLeaseSignal, (release: unknown) => {
    if (isLeaseRelease(release)) apply(releaseLease(state, release.token, now()));
    else log.warn('malformed lease release ignored', { release: JSON.stringify(release)?.slice(0, 200) });
  });

  const every = input.livenessCheckMs ?? defaultLivenessCheckMs;
  let lastCheck = Date.now();
  for (;;) {
    if (blockingHolders(state).length === 0) {
      await condition(() => outbox.length > 0 || blockingHolders(state).length > 0);
      lastCheck = Date.now();
    } else {
      await condition(() => outbox.length > 0, Math.max(1, lastCheck + every - Date.now()));
    }
    if (outbox.length > 0) await send(outbox.splice(0));
    else if (blockingHolders(state).length > 0 && Date.now() >= lastCheck + every) await dropClosedHolders();
    const info = workflowInfo();
    if ((info.continueAsNewSuggested || info.historyLength > maxHistoryEvents) && outbox.length === 0) {
      return continueAsNew<typeof warehouseLease>({ ...input, state });
    }
  }

  /** Sends the answers to their requesters (those still holding or waiting); a requester that is gone loses its grant. */
  async function send(answers: LeaseAnswer[]): Promise<void> {
    await Promise.all(
      answers.map(async (answer) => {
        const to = [...state.holders, ...state.queue].find((r) => r.token === answer.token);
        if (!to) return;
        try {
          await getExternalWorkflowHandle(to.workflowId).signal(leaseAnswerSignal, answer);
        } catch (error) {
          log.warn('lease requester is gone: its request is dropped', { workflowId: to.workflowId, token: answer.token, ...describeFailure(error) });
          apply(releaseLease(state, answer.token, now()));
        }
      }),
    );
  }

  /** Asks the server whether the runs holding up the queue are still going; drops the grants of those that are not. */
  async function dropClosedHolders(): Promise<void> {
    lastCheck = Date.now();
    const blocking = blockingHolders(state).map((h) => ({ workflowId: h.workflowId, chain: h.chain }));
    try {
      const closed = await closedLeaseChains({ chains: blocking });
      if (closed.length > 0) {
        log.warn('lease holders ended without releasing: their grants are dropped', { closed });
        apply(dropChains(state, closed, now()));
      }
    } catch (error) {
      log.warn('could not check the lease holders (checked again later)', describeFailure(error));
    }
  }
}
