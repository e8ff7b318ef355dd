import { createControlStore } from '../../activities/control-store.ts';
import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { formatTable } from '../format-table.ts';
import { createReadD1Client } from '../read-d1.ts';
import { connectClient, workflowUiLink } from '../temporal-client.ts';
import { incidentStateQuery, type IncidentState } from '../../workflows/index.ts';

interface IncidentRow {
  incident_id: string;
  table_name: string;
  business_date: string;
  status: string;
  error_type: string | null;
  error_detail: string | null;
  opened_at: string;
  closed_at: string | null;
  approved_by: string | null;
  rollback_mode: string | null;
  alert_via: string | null;
  quarantine_dir: string | null;
}

/** `warehouse incidents [--json]`: open and recent incidents, with what each open one holds back. */
export function registerIncidents(program: Command, loadConfig: () => Config): void {
  program
    .command('incidents')
    .description('open and recent incidents: table, date, problem, alert, deferred days, approval')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      const rows = await createControlStore(createReadD1Client(config)).incidents.recent<IncidentRow>();
      const { client, connection } = await connectClient(config);
      try {
        const incidents = [];
        for (const row of rows) {
          let state: IncidentState | undefined;
          if (row.status !== 'resolved') state = await client.workflow.getHandle(row.incident_id).query(incidentStateQuery).catch(() => undefined);
          incidents.push({ ...row, state, link: workflowUiLink(config, row.incident_id) });
        }
        if (options.json) return console.log(JSON.stringify(incidents, null, 2));
        if (incidents.length === 0) return console.log('no incidents');
        console.log(
          formatTable(
            ['incident', 'status', 'problem', 'alert', 'deferred', 'approved by'],
            incidents.map((i) => [
              i.incident_id,
              i.state?.status ?? i.status,
              `${i.error_type ?? ''}: ${(i.error_detail ?? '').slice(0, 70)}`,
              i.alert_via ?? 'pending',
              [...new Set(i.state?.deferred.map((d) => d.businessDate))].join(' '), // a night incident defers each of its tables
              i.approved_by ? `${i.approved_by} (${i.rollback_mode})` : '',
            ]),
          ),
        );
        for (const i of incidents.filter((x) => x.state?.lastRepairError)) console.log(`\n${i.incident_id}: last repair failed: ${i.state!.lastRepairError}`);
      } finally {
        await connection.close();
      }
    });
}
