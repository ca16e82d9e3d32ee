/**
 * The background worker of the local stack. It is restarted when the build changed since it started, so
 * `npm run stack` after a code change never leaves an old worker serving the task queue.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { DbopsConfig } from '../../config/load';
import { PATHS } from './paths';
import { logFile, runningPid, startDetached, stopProcess } from './processes';
import { TEMPORAL } from './temporal-server';

const BUILD_STAMP = join(PATHS.run, 'worker.build');

/** What happened to the worker. */
export type WorkerAction = 'kept' | 'started' | 'restarted';

/** Starts the worker, or restarts it when the compiled code is newer than the running process. */
export async function ensureWorker(config: DbopsConfig): Promise<{ action: WorkerAction; pid: number }> {
  if (!existsSync(PATHS.workerEntry)) throw new Error(`${PATHS.workerEntry} is missing: run \`npm run build\``);
  const build = buildStamp();
  const existing = runningPid('worker');
  if (existing !== undefined && readStamp() === build) return { action: 'kept', pid: existing };
  if (existing !== undefined) await stopProcess('worker');

  const proc = startDetached('worker', process.execPath, [...PATHS.workerNodeFlags, PATHS.workerEntry], {
    ...process.env,
    ...PATHS.workerEnv,
    DBOPS_TEMPORAL_ADDRESS: `${TEMPORAL.host}:${TEMPORAL.port}`,
  });
  writeFileSync(BUILD_STAMP, build);
  await waitForPollers(config, proc.pid);
  return { action: existing === undefined ? 'started' : 'restarted', pid: proc.pid };
}

/** Stops the worker (it drains: running activities get the configured grace time). */
export function stopWorker(): Promise<boolean> {
  return stopProcess('worker', 70_000);
}

function buildStamp(): string {
  return existsSync(PATHS.buildInfo) ? String(statSync(PATHS.buildInfo).mtimeMs) : 'unknown';
}

function readStamp(): string | undefined {
  try {
    return readFileSync(BUILD_STAMP, 'utf8');
  } catch {
    return undefined;
  }
}

/** Waits until the new worker polls its task queue (it bundles the workflows first: a few seconds). */
async function waitForPollers(config: DbopsConfig, pid: number): Promise<void> {
  const connection = await Connection.connect({ address: `${TEMPORAL.host}:${TEMPORAL.port}` });
  try {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (runningPid('worker') !== pid) {
        throw new Error(`the worker exited during start-up; see ${logFile('worker')}:\n${tail(logFile('worker'))}`);
      }
      const { pollers } = await connection.workflowService.describeTaskQueue({
        namespace: config.temporal.namespace,
        taskQueue: { name: config.temporal.taskQueue },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      if ((pollers ?? []).length > 0) return;
      await delay(500);
    }
    throw new Error(
      `the worker did not poll task queue "${config.temporal.taskQueue}" within 90 s; see ${logFile('worker')}`,
    );
  } finally {
    await connection.close();
  }
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
