/**
 * The real worker process (`node dist/workers/main.js`, what `npm run worker` runs): it polls its queue,
 * serves a workflow, drains and exits 0 on SIGTERM; an invalid config stops it with the option named.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATHS } from '../../scripts/stack/paths';
import { TestTemporal, testEnv } from '../support/temporal';

function startWorker(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, [join(PATHS.root, 'dist', 'workers', 'main.js')], {
    cwd: PATHS.root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

describe('worker process', () => {
  let t: TestTemporal;
  beforeAll(async () => {
    t = await TestTemporal.connect();
  });
  afterAll(() => t.cleanup());

  it('polls its task queue, runs a workflow, and on SIGTERM drains and exits 0', async () => {
    const { child, output } = startWorker(testEnv(t.taskQueue));
    const exited = once(child, 'exit');
    try {
      await expect
        .poll(
          async () => {
            const { pollers } = await t.client.connection.workflowService.describeTaskQueue({
              namespace: 'default',
              taskQueue: { name: t.taskQueue },
              taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            });
            return pollers?.length ?? 0;
          },
          { timeout: 45_000, interval: 250 },
        )
        .toBeGreaterThan(0);
      const result = await t.client.workflow.execute('connectionCheck', {
        workflowId: t.workflowId('worker-proc'),
        taskQueue: t.taskQueue,
        args: [{ targets: ['local_pg'] }],
      });
      expect(result).toMatchObject({ healthy: true });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    expect(output()).toContain(`polling task queue "${t.taskQueue}"`);
    expect(output()).toMatch(/state: 'STOPPED'|STOPPED/);
  });

  it('an invalid config value stops it at once with exit 1, naming the option', async () => {
    const { child, output } = startWorker(testEnv(t.taskQueue, { DBOPS_WORKER_MAX_CONCURRENT_ACTIVITIES: '0' }));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(output()).toContain('worker.maxConcurrentActivities (from env DBOPS_WORKER_MAX_CONCURRENT_ACTIVITIES)');
  });
});
