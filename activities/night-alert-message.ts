import { capText, failureLimits } from '../common/errors.ts';
import type { MissingNight } from '../common/incident-facts.ts';
import type { AlertFacts, AlertMessage } from './alert-message.ts';

/** What the operator should suspect, for each reason the inbox held nothing of the night. */
function whatIsWrong(night: MissingNight, businessDate: string): string {
  switch (night.problem) {
    case 'absent':
      return `The inbox folder ${night.inbox} does not exist: the NAS share is probably not mounted on the worker's machine.`;
    case 'unreadable':
      return `The inbox folder ${night.inbox} cannot be read (${capText(night.detail ?? 'no reason given', failureLimits.textChars)}): check the NAS mount and its permissions.`;
    case 'not-a-directory':
      return `${night.inbox} is not a folder: check the NAS mount.`;
    case 'no-export':
      return `The inbox folder ${night.inbox} is there but holds no export file for ${businessDate}: Sodiwin's nightly export probably did not run.`;
  }
}

/**
 * The one alert for a night none of whose exports arrived (a missing NAS mount, an export
 * that did not run): the subject names the date, the inbox and how many tables; the body
 * says why in plain words, lists every table with the day it still shows, and gives the
 * one approve command that loads the night once its files are there. Pure.
 */
export function composeNightAlert(facts: AlertFacts & { tables: string[]; night: MissingNight }): AlertMessage {
  const { businessDate, night, tables } = facts;
  const lines = [
    `No table was loaded for business date ${businessDate}: by the export deadline (${night.deadlineLocal ?? night.deadline}) not one of the night's ${tables.length} export files had arrived in ${night.inbox}.`,
    '',
    `What is wrong: ${whatIsWrong(night, businessDate)}`,
    `Detail (${facts.errorType}): ${capText(facts.message, failureLimits.messageChars)}`,
    '',
    'Nothing was loaded on top of the missing day; the warehouse still shows each table as it was:',
    ...tables.map((table) => {
      const date = facts.authoritativeDates?.[table];
      return `  - ${table}: ${date ? `as of ${date}` : facts.authoritativeDates ? 'no earlier data' : 'as of its last loaded day'}`;
    }),
    '',
    `This one incident holds all ${tables.length} tables back: ${facts.incidentId}. Later nights keep fetching and archiving them but do not load them until it is repaired.`,
    '',
    'What to do:',
    `  1. Make the inbox readable again (mount the NAS share), or ask Sodiwin to run the export for ${businessDate}.`,
    `  2. Once the ${businessDate} files are in ${night.inbox}, an approver runs (it is signed with their approver key):`,
    '',
    `  warehouse approve ${facts.incidentId} --mode rewind`,
    '',
    `It loads ${businessDate} and every later night held back, table by table, in date order.`,
    '(--mode time-travel restores the whole warehouse to the bookmark taken before that night, then replays every table.)',
    '',
    `Workflow in the Temporal Web UI: ${facts.workflowUrl}`,
  ];
  return {
    messageId: `<${facts.incidentId}@sodimo-warehouse>`,
    from: facts.from,
    to: facts.to,
    subject: `[warehouse] ${businessDate}: ${facts.errorType} for all ${tables.length} tables — no export of the night in ${night.inbox}`,
    text: `${lines.join('\n')}\n`,
  };
}
