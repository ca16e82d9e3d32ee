/**
 * `connectionCheck`: is every database this worker can reach up, and what is it? For each target (all
 * configured connections by default) report engine, server version, database, size and latency. A down
 * server is reported, not thrown; an unknown name or a secret in the input fails the run.
 *
 * Phases: `resolve` → `check` → `completed` | `failed`.
 */
import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ConnectionCheckInput, ConnectionCheckResult } from '../common/contracts/check';
import { guardInput, JobState } from './support/job-state';

const { resolveTargets } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

// A check must answer within a minute even when a server hangs: the drivers' own connect timeouts are
// 5-10 s, and a retry only helps with worker-side hiccups.
const { checkConnection } = proxyActivities<Activities>({
  startToCloseTimeout: '45 seconds',
  retry: { maximumAttempts: 2, initialInterval: '2 seconds' },
});

/** Checks that each target is reachable and reports what it is. */
export async function connectionCheck(input: ConnectionCheckInput = {}): Promise<ConnectionCheckResult> {
  guardInput(input);
  const refs = input.targets ?? [];
  const state = new JobState('check', refs, { phase: 'resolve', message: 'resolving targets' });
  try {
    const targets = await resolveTargets(refs);
    state.update({ phase: 'check', message: `checking ${targets.length} target(s)`, done: 0, total: targets.length });
    let done = 0;
    const results = await Promise.all(
      targets.map(async (target) => {
        const result = await checkConnection(target.ref);
        done += 1;
        state.update({ ...state.progress, message: `checked ${target.label}`, done });
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
    });
    return { status: 'completed', healthy, targets: results };
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
    state.update({ ...state.progress, phase: 'failed', message: (cause as Error).message });
    throw err;
  }
}
