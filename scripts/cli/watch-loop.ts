/**
 * Polls a workflow's `progress` query about once a second until the run closes (shared by `dbops watch`
 * and `--wait`). A query needs a worker: when none answers, the phase comes from the `DbopsPhase` search
 * attribute of describe(). The run's result is awaited alongside, so the loop ends as soon as it closes.
 */
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { PROGRESS_QUERY, type Progress } from '../../common/progress';
import { buildView, RateMeter, type WatchSample, type WatchView } from './progress-view';

/** How the run ended: its result, or the error `handle.result()` threw. */
export type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/** What the loop returns once the run closed. */
export interface Watched {
  outcome: Settled;
  /** describe() of the run when the watch began. */
  description: WorkflowExecutionDescription;
}

export interface WatchOptions {
  /** Time between polls (default 1 s). */
  intervalMs?: number;
  /** How long a progress query may take before "no worker is answering" (default 3 s). */
  queryDeadlineMs?: number;
}

/**
 * Shows a view of the run every poll until it closes, then returns how it ended. Throws what describe()
 * throws (WorkflowNotFoundError for an unknown id, which the CLI reports with exit 1).
 */
export async function watchWorkflow(
  client: Client,
  workflowId: string,
  show: (view: WatchView) => void,
  options: WatchOptions = {},
): Promise<Watched> {
  const intervalMs = options.intervalMs ?? 1_000;
  const deadlineMs = options.queryDeadlineMs ?? 3_000;
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  let closed = false;
  const result: Promise<Settled> = handle.result().then(
    (value: unknown): Settled => ({ ok: true, value }),
    (error: unknown): Settled => ({ ok: false, error }),
  );
  void result.then(() => (closed = true));
  const meter = new RateMeter();
  // A closed run needs no poll (and a query of it would need a worker to replay it).
  if (description.status.name !== 'RUNNING') return { outcome: await result, description };
  while (!closed) {
    const started = Date.now();
    const sample = await takeSample(client, workflowId, description.type, deadlineMs);
    if (closed) break;
    show(buildView(sample, meter));
    await settledOrElapsed(result, Math.max(0, intervalMs - (Date.now() - started)));
  }
  return { outcome: await result, description };
}

/** One sample: the progress query, or the recorded phase when no worker answers in time. */
async function takeSample(client: Client, workflowId: string, type: string, deadlineMs: number): Promise<WatchSample> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    const progress = await client.connection.withDeadline(Date.now() + deadlineMs, () =>
      handle.query<Progress>(PROGRESS_QUERY),
    );
    return { at: Date.now(), workflowId, type, phase: progress.phase, progress };
  } catch {
    const description = await handle.describe();
    const status = description.status.name;
    const phase = recordedPhase(description) ?? (status === 'RUNNING' ? 'running' : status.toLowerCase());
    return { at: Date.now(), workflowId, type, phase };
  }
}

/** The phase the workflow last recorded in its `DbopsPhase` search attribute (what `dbops status` shows too). */
export function recordedPhase(description: WorkflowExecutionDescription): string | undefined {
  const recorded = description.searchAttributes?.DbopsPhase;
  return Array.isArray(recorded) && typeof recorded[0] === 'string' ? recorded[0] : undefined;
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; leaves no timer behind. */
async function settledOrElapsed(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
