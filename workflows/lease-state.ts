import type { LeaseAnswer, LeaseRequest, LeaseState } from './lease-messages.ts';

/**
 * The readers-writer rules of the warehouse lease, as pure functions of its state (unit-tested
 * without Temporal). Requests are served in arrival order: a shared request is granted while
 * no exclusive one holds the lease, an exclusive one once nobody holds it; a request that
 * cannot be served waits, and so does every request behind it. So a restore that waits for
 * the loads running is not starved by the loads that start after it.
 */

/** A change of the lease: its new state and the answers to send. */
export interface LeaseChange {
  state: LeaseState;
  answers: LeaseAnswer[];
}

/** The lease before anyone asked for it. */
export const emptyLease = (): LeaseState => ({ holders: [], queue: [] });

/** A request arrives: answered at once (granted or queued). A request from a new chain of a workflow id drops the old chain's (that run is over). */
export function requestLease(state: LeaseState, request: LeaseRequest, now: string): LeaseChange {
  if (state.holders.some((h) => h.token === request.token)) return { state, answers: [granted(request.token)] };
  const queuedAt = state.queue.findIndex((q) => q.token === request.token);
  if (queuedAt >= 0) return { state, answers: [queued(state, queuedAt)] };
  const staleChain = (r: LeaseRequest) => r.workflowId === request.workflowId && r.chain !== request.chain;
  const pruned: LeaseState = { holders: state.holders.filter((h) => !staleChain(h)), queue: state.queue.filter((q) => !staleChain(q)) };
  const arrived: LeaseState = { ...pruned, queue: [...pruned.queue, { ...request, requestedAt: now }] };
  const served = serve(arrived, now);
  const index = served.state.queue.findIndex((q) => q.token === request.token);
  if (index < 0) return served;
  // Still waiting: it is told what for (the others granted meanwhile, after a stale chain was dropped, are told too).
  return { state: served.state, answers: [...served.answers, queued(served.state, index)] };
}

/** A holder gives the lease back, or a waiting request is withdrawn: the requests it blocked are served. */
export function releaseLease(state: LeaseState, token: string, now: string): LeaseChange {
  return serve({ holders: state.holders.filter((h) => h.token !== token), queue: state.queue.filter((q) => q.token !== token) }, now);
}

/** Grants and requests of workflow chains that are over (they died without releasing) are dropped. */
export function dropChains(state: LeaseState, over: { workflowId: string; chain: string }[], now: string): LeaseChange {
  const isOver = (r: LeaseRequest) => over.some((o) => o.workflowId === r.workflowId && o.chain === r.chain);
  return serve({ holders: state.holders.filter((h) => !isOver(h)), queue: state.queue.filter((q) => !isOver(q)) }, now);
}

/** The holders that keep the first waiting request waiting: those whose liveness is worth checking. */
export function blockingHolders(state: LeaseState): LeaseState['holders'] {
  const head = state.queue[0];
  if (!head) return [];
  return head.kind === 'exclusive' ? state.holders : state.holders.filter((h) => h.kind === 'exclusive');
}

/** Grants requests from the head of the queue while the rules allow. */
function serve(state: LeaseState, now: string): LeaseChange {
  const holders = [...state.holders];
  const queue = [...state.queue];
  const answers: LeaseAnswer[] = [];
  while (queue.length > 0) {
    const head = queue[0]!;
    const free = head.kind === 'shared' ? !holders.some((h) => h.kind === 'exclusive') : holders.length === 0;
    if (!free) break;
    queue.shift();
    holders.push({ token: head.token, kind: head.kind, workflowId: head.workflowId, chain: head.chain, grantedAt: now });
    answers.push(granted(head.token));
  }
  return { state: { holders, queue }, answers };
}

function granted(token: string): LeaseAnswer {
  return { token, status: 'granted', heldBy: [], behind: [] };
}

function queued(state: LeaseState, index: number): LeaseAnswer {
  return { token: state.queue[index]!.token, status: 'queued', heldBy: state.holders.map((h) => h.workflowId), behind: state.queue.slice(0, index).map((q) => q.workflowId) };
}
