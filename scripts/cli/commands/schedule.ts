/** `dbops schedule apply|list|trigger|pause|unpause`: the Schedules config describes, on the Temporal server. */
import type { Command } from 'commander';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { applyNightlySchedule, NIGHTLY_SCHEDULE_ID } from '../../schedules/nightly';
import type { CliContext, CommandRunner } from '../context';
import { ExitCode, printJson, say } from '../output';

/** Registers the command group. */
export function registerSchedule(program: Command, ctx: CliContext, run: CommandRunner): void {
  const schedule = program.command('schedule').description('the nightly backup Schedule (and later ones)');
  schedule
    .command('apply')
    .description('create or update the Schedules described in config (idempotent)')
    .option('--json', 'print exactly one JSON object on stdout')
    .action((flags: { json?: boolean }) =>
      run(async () => {
        const outcome = await applyNightlySchedule(await ctx.client(), ctx.config);
        if (flags.json) printJson({ schedules: [outcome] });
        else
          say(
            `${outcome.scheduleId}: ${outcome.action} — every day at ${outcome.at} ${outcome.timeZone}${outcome.paused ? ' (paused)' : ''}`,
          );
        return ExitCode.Ok;
      }),
    );
  schedule
    .command('list')
    .description('list the Schedules with their next and recent runs')
    .option('--json', 'print exactly one JSON object on stdout')
    .action((flags: { json?: boolean }) =>
      run(async () => {
        const client = await ctx.client();
        const rows = [];
        for await (const s of client.schedule.list()) {
          const d = await client.schedule.getHandle(s.scheduleId).describe();
          rows.push({
            scheduleId: s.scheduleId,
            workflowType: d.action.workflowType,
            paused: d.state.paused,
            note: d.state.note ?? null,
            nextActionTimes: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
            recentActions: d.info.recentActions.slice(-3).map((a) => ({
              scheduledAt: a.scheduledAt.toISOString(),
              workflowId: a.action.workflow.workflowId,
            })),
          });
        }
        if (flags.json) printJson({ schedules: rows });
        else {
          if (rows.length === 0) say('no schedules: `npx dbops schedule apply` creates the nightly backup');
          for (const r of rows)
            say(
              `${r.scheduleId.padEnd(24)} ${r.workflowType.padEnd(16)} ${r.paused ? 'PAUSED ' : 'active '} next ${r.nextActionTimes[0] ?? '-'}`,
            );
        }
        return ExitCode.Ok;
      }),
    );
  for (const [name, description] of [
    ['trigger', 'run the Schedule now (skipped if its previous run is still going)'],
    ['pause', 'pause the Schedule'],
    ['unpause', 'unpause the Schedule'],
  ] as const) {
    schedule
      .command(name)
      .description(description)
      .argument('[scheduleId]', 'schedule id', NIGHTLY_SCHEDULE_ID)
      .option('--note <text>', 'why (shown in the Web UI)')
      .option('--json', 'print exactly one JSON object on stdout')
      .action((scheduleId: string, flags: { note?: string; json?: boolean }) =>
        run(async () => {
          const handle = (await ctx.client()).schedule.getHandle(scheduleId);
          if (name === 'trigger') await handle.trigger(ScheduleOverlapPolicy.SKIP);
          else if (name === 'pause') await handle.pause(flags.note ?? 'paused with dbops schedule pause');
          else await handle.unpause(flags.note ?? 'unpaused with dbops schedule unpause');
          if (flags.json) printJson({ scheduleId, action: name, status: 'ok' });
          else say(`${scheduleId}: ${name === 'trigger' ? 'triggered' : `${name}d`}`);
          return ExitCode.Ok;
        }),
      );
  }
}
