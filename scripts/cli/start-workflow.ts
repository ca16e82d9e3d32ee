/**
 * The start flow every workflow command shares (`dbops check`, later `migrate`, `backup`, `assess`,
 * `restore`): `--id`, `--wait`, `--json`, the exit codes, the UI link, and the one-JSON-object rule.
 * `--wait` without `--json` shows the run's progress as `dbops watch` does: live bars when stdout is a
 * terminal, otherwise plain lines on stderr (stdout keeps only the result).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Command } from 'commander';
import type { CliContext } from './context';
import { ExitCode, printJson, say, summarizeFailure, warn } from './output';
import type { WatchEnd } from './progress-view';
import { workflowUrl } from './temporal-client';
import { watchWorkflow, type Settled } from './watch-loop';
import { PlainRenderer, TtyRenderer, type WatchRenderer } from './watch-render';

/** Options every start command accepts. */
export interface StartFlags {
  id?: string;
  wait?: boolean;
  json?: boolean;
}

/** What a start command supplies. */
export interface StartSpec<Input, Result> {
  workflowType: string;
  /** Prefix of generated workflow ids, e.g. `check` → `check-20261122-031500-ab12`. */
  idPrefix: string;
  input: Input;
  /** One line the Web UI shows for the run (e.g. `migrate app.db → app_pg (public)`). */
  summary: string;
  /** Whether a returned result counts as success (exit 0). Default: `status` is not failed/rolled_back. */
  succeeded?: (result: Result) => boolean;
  /** Human rendering of the result (without `--json`). */
  render?: (result: Result) => string[];
}

/** Adds `--id`, `--wait` and `--json` to a command. */
export function withStartFlags(command: Command): Command {
  return command
    .option('--id <workflowId>', 'workflow id (default: generated); starting an id that is running is refused')
    .option(
      '--wait',
      'wait for the workflow to finish and print its result; shows its progress meanwhile (live bars on a terminal, plain lines on stderr otherwise)',
    )
    .option('--json', 'print exactly one JSON object on stdout');
}

/** Starts the workflow and, with `--wait`, reports its end. Returns the process exit code. */
export async function startWorkflow<Input, Result>(
  ctx: CliContext,
  flags: StartFlags,
  spec: StartSpec<Input, Result>,
): Promise<number> {
  const client = await ctx.client();
  const { config } = ctx;
  const workflowId = flags.id ?? generateId(spec.idPrefix);
  const handle = await client.workflow.start(spec.workflowType, {
    workflowId,
    taskQueue: config.temporal.taskQueue,
    args: [spec.input],
    // Shown by the Web UI beside the run; the input carries no secret (refused before starting).
    staticSummary: spec.summary.slice(0, 200),
    staticDetails: `Started with the dbops CLI.\n\n\`\`\`json\n${JSON.stringify(spec.input, null, 2)}\n\`\`\``,
  });
  const url = workflowUrl(config, workflowId);
  if (!flags.wait) {
    if (flags.json) printJson({ workflowId, runId: handle.firstExecutionRunId, status: 'started', url });
    else {
      say(
        `started ${spec.workflowType} ${workflowId}\n  watch:  ${url}\n  status: npx dbops status ${workflowId}\n  result: npx dbops result ${workflowId}`,
      );
    }
    return ExitCode.Ok;
  }
  if (flags.json) return reportResult(workflowId, () => handle.result() as Promise<Result>, true, spec);
  warn(`started ${spec.workflowType} ${workflowId} — ${url}`);
  const renderer: WatchRenderer =
    process.stdout.isTTY === true ? new TtyRenderer(process.stdout) : new PlainRenderer((line) => warn(line));
  const { outcome, description } = await watchWorkflow(client, workflowId, (view) => renderer.show(view));
  renderer.end(watchEnd(workflowId, outcome, description.startTime, spec.succeeded));
  return reportResult(workflowId, () => unwrap(outcome) as Promise<Result>, false, spec);
}

/** The settled result again as a promise (for reportResult). */
export function unwrap(outcome: Settled): Promise<unknown> {
  return outcome.ok ? Promise.resolve(outcome.value) : Promise.reject(outcome.error);
}

/** The exit code `reportResult` gives for a settled run. */
export function exitCodeOf<Result>(
  outcome: Settled,
  succeeded: (result: Result) => boolean = defaultSucceeded,
): number {
  if (!outcome.ok) return ExitCode.Failed;
  return succeeded(outcome.value as Result) ? ExitCode.Ok : ExitCode.Failed;
}

/** The final line's facts for a settled run (status, exit code, elapsed time, the failure). */
export function watchEnd<Result>(
  workflowId: string,
  outcome: Settled,
  startTime: Date | undefined,
  succeeded?: (result: Result) => boolean,
): WatchEnd {
  const at = Date.now();
  const reported = outcome.ok ? (outcome.value as { status?: unknown } | null)?.status : undefined;
  const error = outcome.ok ? undefined : summarizeFailure(outcome.error);
  return {
    at,
    workflowId,
    status: outcome.ok ? (typeof reported === 'string' ? reported : 'completed') : 'failed',
    exitCode: exitCodeOf(outcome, succeeded),
    ...(startTime ? { elapsedSeconds: (at - startTime.getTime()) / 1000 } : {}),
    ...(error ? { error: `${error.type}: ${error.message}` } : {}),
  };
}

/** Awaits a result and prints it; shared with `dbops result`. Returns the exit code. */
export async function reportResult<Result>(
  workflowId: string,
  result: () => Promise<Result>,
  json: boolean,
  spec: Pick<StartSpec<unknown, Result>, 'succeeded' | 'render'> = {},
): Promise<number> {
  let value: Result;
  try {
    value = await result();
  } catch (err) {
    const error = summarizeFailure(err);
    // A job that reports in full even when it fails (nightlyBackup) attaches its result to the failure.
    const details = failureResult(err);
    if (json) printJson({ workflowId, status: 'failed', error, ...(details ? { result: details } : {}) });
    else warn(`${workflowId} failed: ${error.type}: ${error.message}`);
    return ExitCode.Failed;
  }
  const ok = (spec.succeeded ?? defaultSucceeded)(value);
  if (json) printJson(value);
  else for (const line of spec.render?.(value) ?? [JSON.stringify(value, null, 2)]) say(line);
  return ok ? ExitCode.Ok : ExitCode.Failed;
}

/** The result a failed job attached to its failure (nightlyBackup reports in full even when it fails). */
export function failureResult(err: unknown): unknown {
  let current: unknown = err;
  for (let depth = 0; depth < 10 && current; depth++) {
    if (current instanceof ApplicationFailure) return current.details?.[0];
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether a result counts as success: its `status` is not failed/rolled_back. */
export function defaultSucceeded(result: unknown): boolean {
  const status = (result as { status?: unknown } | null)?.status;
  return status !== 'failed' && status !== 'rolled_back';
}

function generateId(prefix: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${prefix}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}
