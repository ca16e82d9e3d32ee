/** A dbops worker of its own for a benchmark (its own task queue), so its peak RSS is the worker's alone. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import type { DbopsConfig } from '../../config/load';
import { PATHS } from '../stack/paths';

/** A started bench worker. */
export interface BenchWorker {
  taskQueue: string;
  process: ChildProcess;
  /** Current resident set (MB). */
  rssMb(): number;
  /** Peak resident set so far (VmHWM, MB). */
  peakRssMb(): number;
  stop(): Promise<void>;
}

/** Starts a worker on a fresh task queue and waits until it polls for activities. */
export async function startBenchWorker(
  client: Client,
  config: DbopsConfig,
  env: Record<string, string>,
): Promise<BenchWorker> {
  const taskQueue = `bench-${process.pid}-${Date.now()}`;
  const child = spawn(process.execPath, [...PATHS.workerNodeFlags, PATHS.workerEntry], {
    env: { ...process.env, DBOPS_TASK_QUEUE: taskQueue, DBOPS_LOG_LEVEL: 'WARN', ...PATHS.workerEnv, ...env },
    stdio: 'inherit',
  });
  const status = (field: string): number =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) /
    1024;
  for (let i = 0; ; i++) {
    const { pollers } = await client.connection.workflowService.describeTaskQueue({
      namespace: config.temporal.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    if ((pollers ?? []).length > 0) break;
    if (i > 600) throw new Error('bench worker did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    taskQueue,
    process: child,
    rssMb: () => status('VmRSS'),
    peakRssMb: () => status('VmHWM'),
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
