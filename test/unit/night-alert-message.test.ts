import { describe, expect, it } from 'vitest';
import { composeAlert, type AlertFacts } from '../../activities/alert-message.ts';

const facts: AlertFacts = {
  incidentId: 'incident-inbox-2026-06-16',
  table: 'inbox',
  businessDate: '2026-06-16',
  errorType: 'ExportMissing',
  message: 'no export file for any of the 3 tables (brands, depots, stock) in /mnt/nas/inbox at the deadline (2026-06-17T04:00:00.000Z): …',
  quarantineDir: '(nothing to quarantine: no file arrived)',
  tables: ['brands', 'depots', 'stock'],
  night: { inbox: '/mnt/nas/inbox', deadline: '2026-06-17T04:00:00.000Z', deadlineLocal: '2026-06-17 06:00 Europe/Paris', problem: 'no-export' },
  authoritativeDates: { brands: '2026-06-15', depots: '2026-06-14' },
  workflowUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/incident-inbox-2026-06-16',
  from: 'warehouse@sodimo.example',
  to: ['paul@sodimo.example'],
};

describe('the one alert of a night none of whose exports arrived', () => {
  it('names the date, the inbox, the deadline and every table with the day it still shows', () => {
    const mail = composeAlert(facts);
    expect(mail.messageId).toBe('<incident-inbox-2026-06-16@sodimo-warehouse>');
    expect(mail.subject).toBe('[warehouse] 2026-06-16: ExportMissing for all 3 tables — no export of the night in /mnt/nas/inbox');
    expect(mail.text).toContain("by the export deadline (2026-06-17 06:00 Europe/Paris) not one of the night's 3 export files had arrived in /mnt/nas/inbox");
    expect(mail.text).toContain("holds no export file for 2026-06-16: Sodiwin's nightly export probably did not run.");
    expect(mail.text).toContain('  - brands: as of 2026-06-15\n  - depots: as of 2026-06-14\n  - stock: no earlier data\n');
    expect(mail.text).toContain('\n  warehouse approve incident-inbox-2026-06-16 --mode rewind\n');
    expect(mail.text).not.toContain('Quarantined file');
  });

  it('shows the deadline in UTC for a night recorded before the local time was', () => {
    const recorded = { ...facts.night! };
    delete recorded.deadlineLocal;
    expect(composeAlert({ ...facts, night: recorded }).text).toContain('by the export deadline (2026-06-17T04:00:00.000Z)');
  });

  it('says an unreadable inbox is the NAS, in the system\'s words, and does without D1\'s dates', () => {
    const mail = composeAlert({ ...facts, authoritativeDates: undefined, night: { ...facts.night!, problem: 'unreadable', detail: "EACCES: permission denied, scandir '/mnt/nas/inbox'" } });
    expect(mail.text).toContain("The inbox folder /mnt/nas/inbox cannot be read (EACCES: permission denied, scandir '/mnt/nas/inbox'): check the NAS mount and its permissions.");
    expect(mail.text).toContain('  - stock: as of its last loaded day\n');
  });

  it('leaves a one-table alert as it was', () => {
    expect(composeAlert({ ...facts, tables: undefined, night: undefined, authoritativeDates: undefined, table: 'orders' }).subject).toMatch(/^\[warehouse\] orders 2026-06-16: ExportMissing — /);
  });
});
