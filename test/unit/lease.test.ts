import { describe, expect, it } from 'vitest';
import { isLeaseAnswer, isLeaseRelease, isLeaseRequest, type LeaseKind, type LeaseRequest, type LeaseState } from '../../workflows/lease-messages.ts';
import { blockingHolders, dropChains, emptyLease, releaseLease, requestLease } from '../../workflows/lease-state.ts';

const at = '2026-03-06T02:00:00.000Z';
const request = (workflowId: string, kind: LeaseKind, chain = 'run-1'): LeaseRequest => ({ token: `${workflowId}/${chain}/t`, kind, workflowId, chain });
const holders = (state: LeaseState) => state.holders.map((h) => h.workflowId);
const queue = (state: LeaseState) => state.queue.map((q) => q.workflowId);

/** Applies requests in order, returning the state and every answer sent. */
function run(...requests: LeaseRequest[]) {
  let state = emptyLease();
  const answers = [];
  for (const r of requests) {
    const change = requestLease(state, r, at);
    state = change.state;
    answers.push(...change.answers);
  }
  return { state, answers };
}

describe('the warehouse lease (readers-writer, in arrival order)', () => {
  it('grants several shared holders at once', () => {
    const { state, answers } = run(request('nightly-2026-03-05', 'shared'), request('recheck-2026-03-03', 'shared'));
    expect(holders(state)).toEqual(['nightly-2026-03-05', 'recheck-2026-03-03']);
    expect(answers.map((a) => a.status)).toEqual(['granted', 'granted']);
  });

  it('queues an exclusive request until the last shared holder releases, and says who holds the lease', () => {
    const nightly = request('nightly-2026-03-05', 'shared');
    const recheck = request('recheck-2026-03-03', 'shared');
    const rollback = request('rollback-x', 'exclusive');
    const { state, answers } = run(nightly, recheck, rollback);
    expect(answers.at(-1)).toEqual({ token: rollback.token, status: 'queued', heldBy: ['nightly-2026-03-05', 'recheck-2026-03-03'], behind: [] });
    const one = releaseLease(state, nightly.token, at);
    expect(one.answers).toEqual([]);
    const two = releaseLease(one.state, recheck.token, at);
    expect(two.answers).toEqual([{ token: rollback.token, status: 'granted', heldBy: [], behind: [] }]);
    expect(holders(two.state)).toEqual(['rollback-x']);
  });

  it('makes a shared request wait behind a waiting exclusive one (the restore is not starved)', () => {
    const nightly = request('nightly-2026-03-05', 'shared');
    const rollback = request('rollback-x', 'exclusive');
    const later = request('recheck-2026-03-04', 'shared');
    const { state, answers } = run(nightly, rollback, later);
    expect(answers.at(-1)).toMatchObject({ token: later.token, status: 'queued', heldBy: ['nightly-2026-03-05'], behind: ['rollback-x'] });
    const released = releaseLease(state, nightly.token, at);
    expect(released.answers.map((a) => a.token)).toEqual([rollback.token]);
    const done = releaseLease(released.state, rollback.token, at);
    expect(done.answers.map((a) => a.token)).toEqual([later.token]);
    expect(queue(done.state)).toEqual([]);
  });

  it('answers a repeated request the same way, and withdraws a queued one on release', () => {
    const nightly = request('nightly-2026-03-05', 'shared');
    const rollback = request('rollback-x', 'exclusive');
    const { state } = run(nightly, rollback);
    expect(requestLease(state, nightly, at).answers).toEqual([{ token: nightly.token, status: 'granted', heldBy: [], behind: [] }]);
    expect(requestLease(state, rollback, at).answers[0]).toMatchObject({ status: 'queued' });
    const withdrawn = releaseLease(state, rollback.token, at);
    expect(queue(withdrawn.state)).toEqual([]);
    expect(holders(withdrawn.state)).toEqual(['nightly-2026-03-05']);
  });

  it('drops the grant of a chain that is over: found by the liveness check, or when the workflow id is started again', () => {
    const dead = request('nightly-2026-03-05', 'shared', 'terminated-run');
    const rollback = request('rollback-x', 'exclusive');
    const { state } = run(dead, rollback);
    expect(blockingHolders(state).map((h) => h.workflowId)).toEqual(['nightly-2026-03-05']);
    const dropped = dropChains(state, [{ workflowId: dead.workflowId, chain: dead.chain }], at);
    expect(dropped.answers.map((a) => a.token)).toEqual([rollback.token]);

    const again = requestLease(run(dead).state, request('nightly-2026-03-05', 'shared', 'new-run'), at);
    expect(again.state.holders.map((h) => h.chain)).toEqual(['new-run']);
  });
});

describe('the lease messages, as they arrive from anyone who reaches Temporal', () => {
  it('are checked before the lease or a holder acts on them', () => {
    expect(isLeaseRequest(request('nightly-2026-03-05', 'shared'))).toBe(true);
    for (const bad of [null, 42, 'x', {}, { token: 't', kind: 'EXCLUSIVE', workflowId: 'w', chain: 'c' }, { token: '', kind: 'shared', workflowId: 'w', chain: 'c' }, { token: 't', kind: 'shared', workflowId: 'w' }]) {
      expect(isLeaseRequest(bad), JSON.stringify(bad)).toBe(false);
    }
    expect(isLeaseRelease({ token: 't' })).toBe(true);
    expect([null, {}, { token: 3 }].some(isLeaseRelease)).toBe(false);
    expect(isLeaseAnswer({ token: 't', status: 'granted', heldBy: [], behind: [] })).toBe(true);
    expect([null, { token: 't', status: 'yes', heldBy: [], behind: [] }, { token: 't', status: 'granted' }].some(isLeaseAnswer)).toBe(false);
  });
});
