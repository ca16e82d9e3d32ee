/**
 * `connectionCheck`: is every database this worker can reach up, and what is it? For each target (all
 * configured connections by default) report engine, server version, database, size and latency. A down
 * server is reported, not thrown; an unknown name or a secret in the input fails the run (and tells the
 * operators, workflows/support/operator-alerts.ts).
 *
 * Phases: `resolve` → `check` → `completed` | `failed`. While checking, `items` holds one line per target.
 */
import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ConnectionCheckInput, ConnectionCheckResult } from '../common/contracts/check';
import type { ProgressItem } from '../common/progress';
import { guardInput, JobState } from './support/job-state';
import { listNames, notifyOnFailure } from './support/operator-alerts';

/** The two steps with a one-line summary the Web UI's timeline shows (user metadata: replay ignores it). */
const resolving = (summary: string) =>
  proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: { maximumAttempts: 3, initialInterval: '1 second' },
    summary,
  }).resolveTargets;

// A check must answer within a minute even when a server hangs: the drivers' own connect timeouts are
// 5-10 s, and a retry only helps with worker-side hiccups.
const checking = (summary: string) =>
  proxyActivities<Activities>({
    startToCloseTimeout: '45 seconds',
    retry: { maximumAttempts: 2, initialInterval: '2 seconds' },
    summary,
  }).checkConnection;

/** Checks that each target is reachable and reports what it is. */
export async function connectionCheck(input: ConnectionCheckInput = {}): Promise<ConnectionCheckResult> {
  return notifyOnFailure(
    {
      what: () =>
        `connection check of ${input?.targets?.length ? listNames(input.targets) : 'every configured connection'}`,
    },
    () => check(input),
  );
}

async function check(input: ConnectionCheckInput): Promise<ConnectionCheckResult> {
  guardInput(input);
  const refs = input.targets ?? [];
  const state = new JobState('check', refs, { phase: 'resolve', message: 'resolving targets' });
  try {
    const targets = await resolving(
      refs.length > 0 ? `resolve ${listNames(refs)}` : 'resolve every configured connection',
    )(refs);
    const items: ProgressItem[] = targets.map((t) => ({
      name: t.label,
      done: 0,
      total: 1,
      unit: 'steps',
      state: 'checking',
    }));
    state.update({
      phase: 'check',
      message: `checking ${targets.length} target(s)`,
      done: 0,
      total: targets.length,
      unit: 'steps',
      items,
    });
    let done = 0;
    const results = await Promise.all(
      targets.map(async (target, i) => {
        const result = await checking(`check ${target.engine} ${target.label}`)(target.ref);
        done += 1;
        items[i] = { ...(items[i] as ProgressItem), done: 1, state: result.ok ? 'up' : 'down' };
        state.update({ ...state.progress, message: `checked ${target.label}`, done, items: [...items] });
        return result;
      }),
    );
    const healthy = results.every((r) => r.ok);
    const down = results.filter((r) => !r.ok).map((r) => r.target);
    state.update({
      phase: 'completed',
      message: healthy ? `all ${results.length} target(s) answered` : `not answering: ${down.join(', ')}`,
      done: results.length,
      total: results.length,
      unit: 'steps',
      items,
    });
    return { status: 'completed', healthy, targets: results };
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
    state.update({ ...state.progress, phase: 'failed', message: (cause as Error).message });
    throw err;
  }
}
