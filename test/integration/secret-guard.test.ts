/**
 * No secret in workflow history (docs/architecture.md), on the real server: a dbops client refuses to start a workflow whose input has a
 * password, and a workflow started by another client (as the Web UI does) fails at once, non-retryably.
 */
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load';
import { connectClient, type DbopsClient } from '../../scripts/cli/temporal-client';
import { summarizeFailure } from '../../scripts/cli/output';
import { TestTemporal, testEnv } from '../support/temporal';

describe('secret guard', () => {
  let t: TestTemporal;
  let dbops: DbopsClient;

  beforeAll(async () => {
    t = await TestTemporal.connect();
    dbops = await connectClient(loadConfig({ env: testEnv(t.taskQueue) }));
  });
  afterAll(async () => {
    await dbops.close();
    await t.cleanup();
  });

  it.each([
    ['a URL with a password', { targets: ['mysql://app:pw@db:3306/shop'] }, 'input.targets[0]'],
    [
      'a password query parameter',
      { targets: ['postgres://app@db/shop?sslmode=require&password=pw'] },
      'input.targets[0]',
    ],
    ['a password field', { targets: ['local_pg'], password: 'pw' }, 'input.password'],
  ])('the dbops client refuses %s before anything reaches Temporal', async (_label, input, path) => {
    const id = t.workflowId('guard');
    const error = await dbops.client.workflow
      .start('connectionCheck', { workflowId: id, taskQueue: t.taskQueue, args: [input] })
      .catch((err: unknown) => err as Error);
    expect(error).toMatchObject({ code: 'DBOPS_SECRET_IN_INPUT' });
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).not.toMatch(/:pw@|password=pw/);
    await expect(t.client.workflow.getHandle(id).describe()).rejects.toThrow(/not found/i);
  });

  it('a workflow started by a client without the guard (like the Web UI) fails at once, non-retryably', async () => {
    const plain: Client = t.client; // no dbops interceptor
    const id = t.workflowId('guard-ui');
    const error = await t.withWorker(() =>
      plain.workflow
        .execute('connectionCheck', {
          workflowId: id,
          taskQueue: t.taskQueue,
          args: [{ targets: ['redis://:pw@127.0.0.1:6379'] }],
        })
        .catch((err: unknown) => err),
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(summarizeFailure(error)).toMatchObject({ type: 'DBOPS_SECRET_IN_INPUT' });
    expect(summarizeFailure(error).message).toContain('rotate that password');
    // It failed in its first workflow task: no activity was ever scheduled.
    const history = await t.client.workflow.getHandle(id).fetchHistory();
    expect(history.events?.some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
  });
});
