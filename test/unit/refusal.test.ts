import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { refusal, refusalOf } from '../../client/approval-signing.ts';
import { UserError } from '../../client/cli-support.ts';

/** A workflow's end as the client sees it: a failure whose cause is the workflow's ApplicationFailure. */
const ended = (type: string, message: string) => Object.assign(new Error('Workflow execution failed'), { cause: ApplicationFailure.create({ type, message, nonRetryable: true }) });

describe('a refused approval reads once: what was refused, then why', () => {
  it("keeps the workflow's own wording, which names what was refused", () => {
    const error = refusalOf(ended('ApprovalRefused', "rollback to 2026-03-05T01:59:00.000Z refused: key SHA256:abc is not one of the worker's approver keys"), 'rollback to 2026-03-05T01:59:00.000Z');
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe("rollback to 2026-03-05T01:59:00.000Z refused: key SHA256:abc is not one of the worker's approver keys");
  });

  it('names the request when the reason alone does not', () => {
    expect((refusalOf(ended('ApprovalRefused', 'the statement expired at 2026-03-05T02:09:00Z'), 'sign-off of receivables (customer-balance)') as UserError).message).toBe(
      'sign-off of receivables (customer-balance) refused: the statement expired at 2026-03-05T02:09:00Z',
    );
  });

  it('says "refused" once even when the reason starts with it', () => {
    expect(refusal('the rewind repair of incident-orders-2026-03-04', 'approval rejected: the payload is not an object').message).toBe('the rewind repair of incident-orders-2026-03-04 refused: the payload is not an object');
    expect(refusal('sign-off', '2 difference(s) between Sodiwin and D1 for customer-balance').message).toBe('sign-off refused: 2 difference(s) between Sodiwin and D1 for customer-balance');
  });

  it('leaves any other failure as it is', () => {
    const other = ended('D1Unavailable', 'D1 query /x: unavailable');
    expect(refusalOf(other, 'rollback')).toBe(other);
  });
});
