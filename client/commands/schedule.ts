import type { Command } from 'commander';
import type { Config } from '../../worker/config.ts';
import { describeNightlySchedule, formatScheduleSummary, nightlyScheduleId, nightlyScheduleOptions, recentRunStates, scheduleSummary, upsertNightlySchedule } from '../schedule.ts';
import { connectClient } from '../temporal-client.ts';
import type { Client } from '@temporalio/client';

/** Runs `work` with a Temporal client, closing the connection afterwards. */
async function withClient<T>(config: Config, work: (client: Client) => Promise<T>): Promise<T> {
  const { client, connection } = await connectClient(config);
  try {
    return await work(client);
  } finally {
    await connection.close();
  }
}

/** `warehouse schedule create | describe | pause | unpause | trigger | delete`: the 03:00 Temporal Schedule. */
export function registerSchedule(program: Command, loadConfig: () => Config): void {
  const schedule = program.command('schedule').description('the Temporal Schedule that starts the nightly run (default 03:00 Europe/Paris)');

  schedule
    .command('create')
    .description('create the schedule, or update it to these settings')
    .option('--time <HH:MM>', 'local time of the nightly run (default SCHEDULE_TIME, 03:00)')
    .option('--zone <IANA zone>', 'time zone of that time and of the business date (default WAREHOUSE_TIMEZONE, Europe/Paris)')
    .option('--catchup-window <duration>', "missed runs within this window start after an outage (default SCHEDULE_CATCHUP_WINDOW, '1 day')")
    .option('--json', 'print the resulting schedule as JSON')
    .action(async (options: { time?: string; zone?: string; catchupWindow?: string; json?: boolean }) => {
      const config = loadConfig();
      const settings = { time: options.time ?? config.schedule.time, timeZone: options.zone ?? config.schedule.timeZone, catchupWindow: options.catchupWindow ?? config.schedule.catchupWindow };
      const scheduleOptions = nightlyScheduleOptions(config, settings);
      await withClient(config, async (client) => {
        const outcome = await upsertNightlySchedule(client, scheduleOptions);
        const summary = scheduleSummary(await describeNightlySchedule(client));
        if (options.json) return console.log(JSON.stringify({ outcome, ...summary }, null, 2));
        console.log(`${outcome} schedule ${nightlyScheduleId}: every day at ${settings.time} ${settings.timeZone}, on task queue ${config.temporal.taskQueue}`);
        console.log(formatScheduleSummary(summary));
      });
    });

  schedule
    .command('describe')
    .description('state, policies, the next runs in local time with the business date each loads, and the recent runs')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      await withClient(config, async (client) => {
        const description = await describeNightlySchedule(client);
        const summary = scheduleSummary(description, await recentRunStates(client, description));
        console.log(options.json ? JSON.stringify(summary, null, 2) : formatScheduleSummary(summary));
      });
    });

  schedule
    .command('pause')
    .description('stop starting nightly runs until unpaused (a running night is not affected)')
    .option('--note <text>', 'why (shown by describe and in the Web UI)', 'paused with warehouse schedule pause')
    .action(async (options: { note: string }) => {
      const config = loadConfig();
      await withClient(config, async (client) => {
        await describeNightlySchedule(client);
        await client.schedule.getHandle(nightlyScheduleId).pause(options.note);
        console.log(`paused schedule ${nightlyScheduleId}: ${options.note}`);
      });
    });

  schedule
    .command('unpause')
    .description('start nightly runs again')
    .action(async () => {
      const config = loadConfig();
      await withClient(config, async (client) => {
        await describeNightlySchedule(client);
        await client.schedule.getHandle(nightlyScheduleId).unpause('unpaused with warehouse schedule unpause');
        console.log(`unpaused schedule ${nightlyScheduleId}`);
      });
    });

  schedule
    .command('trigger')
    .description("start a run now: it loads yesterday's business date (in the schedule's zone)")
    .action(async () => {
      const config = loadConfig();
      await withClient(config, async (client) => {
        await describeNightlySchedule(client);
        await client.schedule.getHandle(nightlyScheduleId).trigger();
        console.log(`triggered schedule ${nightlyScheduleId}: see \`warehouse schedule describe\` for the run`);
      });
    });

  schedule
    .command('delete')
    .description('delete the schedule (runs already started go on)')
    .action(async () => {
      const config = loadConfig();
      await withClient(config, async (client) => {
        await describeNightlySchedule(client);
        await client.schedule.getHandle(nightlyScheduleId).delete();
        console.log(`deleted schedule ${nightlyScheduleId}`);
      });
    });
}
