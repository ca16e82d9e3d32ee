/** `dbops watch <workflowId> [--json]`: a live view of a run until it closes; exits with its exit code. */
import type { Command } from 'commander';
import type { CliContext, CommandRunner } from '../context';
import { say, summarizeFailure } from '../output';
import { summarizeResult } from '../progress-view';
import { defaultSucceeded, failureResult, reportResult, unwrap, watchEnd } from '../start-workflow';
import { watchWorkflow } from '../watch-loop';
import { JsonRenderer, PlainRenderer, TtyRenderer, type WatchRenderer } from '../watch-render';

const HELP = `
What it shows, about once a second, until the run closes:
  the phase and what the workflow is doing; one bar per table or target (rows or bytes, rate, ETA)
  when the workflow reports them, else one bar for the phase's done/total; the signals that count
  in this phase (e.g. migrateSqliteToPostgres awaiting_approval: approve | rollback), to send with
  \`npx dbops signal <workflowId> <name>\`. The progress query needs a worker: when none answers, the
  phase comes from the DbopsPhase search attribute and the view says "no worker is answering".

Output:
  terminal    live bars (cli-progress), each phase change logged above them
  not a TTY   plain lines, no escape sequences: one per phase change, at most one every 5 s
              while the counters move, e.g.
                12:00:01 import  45,000/120,000 rows (37 %)  9,800 rows/s  ETA 8s  — imported …
              then the final line (12:00:09 completed  <workflowId> in 9s  (exit 0)) and a summary
              of the result (\`npx dbops result <workflowId>\` prints it whole)
  --json      NDJSON, one object per line: {"event":"progress",…} when the phase, message or a
              counter changed (phase, message, worker, done, total, unit, ratePerSecond,
              etaSeconds, items[], signals[]), then one {"event":"end","status","exitCode",
              "result"|"error"}; an error before the watch begins (unknown id) is the one JSON
              object every command prints: {"status":"failed","error":{…}}

Exit codes (those of \`dbops result\` and \`--wait\`):
  0  the run completed and its status is not failed/rolled_back
  1  the run failed, was rolled back, terminated, cancelled or timed out; unknown workflow id;
     Temporal unreachable
  2  bad usage
`;

/** Registers the command. */
export function registerWatch(program: Command, ctx: CliContext, run: CommandRunner): void {
  program
    .command('watch')
    .description('live view of a workflow (phase, progress bars, rate, ETA, signals) until it closes')
    .argument('<workflowId>')
    .option('--json', 'print NDJSON: one progress event per change, then one end event (see below)')
    .addHelpText('after', HELP)
    .action((workflowId: string, flags: { json?: boolean }) =>
      run(async () => {
        const client = await ctx.client();
        const write = (line: string) => process.stdout.write(`${line}\n`);
        const renderer: WatchRenderer = flags.json
          ? new JsonRenderer(write)
          : process.stdout.isTTY === true
            ? new TtyRenderer(process.stdout)
            : new PlainRenderer(write);
        const { outcome, description } = await watchWorkflow(client, workflowId, (view) => renderer.show(view));
        const end = watchEnd(workflowId, outcome, description.startTime, defaultSucceeded);
        if (flags.json) {
          const details = outcome.ok ? undefined : failureResult(outcome.error);
          write(
            JSON.stringify({
              event: 'end',
              time: new Date(end.at).toISOString(),
              workflowId,
              type: description.type,
              status: end.status,
              exitCode: end.exitCode,
              ...(outcome.ok ? { result: outcome.value } : { error: summarizeFailure(outcome.error) }),
              ...(details !== undefined ? { result: details } : {}),
            }),
          );
          return end.exitCode;
        }
        renderer.end(end);
        const code = await reportResult(workflowId, () => unwrap(outcome), false, {
          render: (result) => summarizeResult(workflowId, result),
        });
        if (!outcome.ok) say(`  details: npx dbops result ${workflowId}`);
        return code;
      }),
    );
}
