/**
 * Operators are told when they are needed (workflows/support/operator-alerts.ts), on the channels the
 * nightly backup uses — here both: a webhook listener of the test's own (DBOPS_NOTIFY_WEBHOOK_URL) and the
 * stack's Mailpit (the local-stack default e-mail channel). A restore, a backup, an assessment or a
 * connection check that fails sends one notification naming the workflow; a run that succeeds sends none; a
 * nightly backup that already sent its own does not send a second; a channel that refuses changes nothing
 * about the run's outcome; and a wait that lasts past its time sends one reminder and goes on waiting.
 *
 * The worker is the dbops worker's activities plus the notify ones (activities/notify/activities.ts), so
 * the test does not depend on when the registry lists them. Each test deletes the mail it caused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities';
import { ConnectionRegistry } from '../../activities/connections/registry';
import { createNotifyActivities } from '../../activities/notify/activities';
import { mailpit } from '../support/mailpit';
import { testConfig, TestTemporal } from '../support/temporal';

/** A request the webhook listener received. */
interface Hook {
  path: string;
  text: string;
}

describe('operator alerts', () => {
  let t: TestTemporal;
  let server: Server;
  const hooks: Hook[] = [];
  const waiters: { match: (h: Hook) => boolean; resolve: (h: Hook) => void }[] = [];
  let refuse = false;
  const mails: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'dbops-alerts-'));
  const env = { DBOPS_ARTIFACT_DIR: join(dir, 'artifacts') };

  beforeAll(async () => {
    t = await TestTemporal.connect();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (refuse) {
          res.writeHead(404).end('no such hook');
          return;
        }
        const hook = { path: req.url ?? '', text: (JSON.parse(body) as { text: string }).text };
        hooks.push(hook);
        for (const w of waiters.splice(0)) (w.match(hook) ? w.resolve : (_: Hook) => waiters.push(w))(hook);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // Secrets come from the worker's environment; this worker runs in the test's process.
    process.env.DBOPS_NOTIFY_WEBHOOK_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts`;
  });

  afterEach(async () => {
    refuse = false;
    await mailpit.delete(mails.splice(0));
  });

  afterAll(async () => {
    delete process.env.DBOPS_NOTIFY_WEBHOOK_URL;
    await t?.cleanup();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** The next webhook request that mentions `text` (already received, or when it arrives). */
  const hookFor = (text: string): Promise<Hook> => {
    const seen = hooks.find((h) => h.text.includes(text));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => waiters.push({ match: (h) => h.text.includes(text), resolve }));
  };
  const hooksFor = (text: string): Hook[] => hooks.filter((h) => h.text.includes(text));
  /** The mail that mentions `workflowId` in its subject; collected for deletion. */
  const mailsFor = async (workflowId: string) => {
    const found = await mailpit.search(`subject:"${workflowId}"`);
    mails.push(...found.map((m) => m.ID));
    return found;
  };

  /** Runs `body` while a worker with the dbops and the notify activities polls the test's queue. */
  async function withWorker<T>(body: () => Promise<T>, extraEnv: Record<string, string> = {}): Promise<T> {
    const config = testConfig(t.taskQueue, { ...env, ...extraEnv });
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const connections = new ConnectionRegistry({ warn: () => undefined });
    try {
      const worker = await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: t.taskQueue,
        workflowBundle: { codePath: inject('workflowBundlePath') },
        activities: { ...createNotifyActivities({ config }), ...createActivities({ config, connections }) },
      });
      return await worker.runUntil(body);
    } finally {
      await connections.close();
      await connection.close();
    }
  }

  /** Starts `type` with `input`, expects it to fail, returns the workflow id and the failure. */
  async function failing(
    type: string,
    input: unknown,
    extraEnv: Record<string, string> = {},
  ): Promise<{ id: string; failure: Error }> {
    const id = t.workflowId(`alert-${type}`);
    const failure = await withWorker(
      () =>
        t.client.workflow.execute(type, { taskQueue: t.taskQueue, workflowId: id, args: [input] }).then(
          () => new Error(`${type} completed; it was expected to fail`),
          (err: unknown) => err as Error,
        ),
      extraEnv,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    // The first failure in the chain with a type (an activity's failure wraps it).
    let root: Error = failure;
    for (let e: unknown = failure.cause; e instanceof Error; e = e.cause) {
      root = e;
      if ((e as { type?: string }).type) break;
    }
    return { id, failure: root };
  }

  it.each([
    {
      type: 'restoreBackup',
      input: { backup: `no_such_target/20260101T000000Z`, target: 'local_pg', from: 'local' },
      what: 'restore of no_such_target/20260101T000000Z into local_pg failed',
    },
    { type: 'backupDatabase', input: { target: 'no_such_connection' }, what: 'backup of no_such_connection failed' },
    { type: 'assessEstate', input: { windowSeconds: 0 }, what: 'assessment of every configured connection failed' },
    {
      type: 'connectionCheck',
      input: { targets: ['no_such_connection'] },
      what: 'connection check of no_such_connection failed',
    },
  ])(
    'a failed $type sends one notification per channel naming the workflow, its failure and `dbops status`',
    async ({ type, input, what }) => {
      const { id, failure } = await failing(type, input);
      const failureType = (failure as { type?: string }).type ?? '';
      expect(failureType).toMatch(/^DBOPS_/);

      // The alert is sent before the run ends failed: both channels already have it.
      const received = hooksFor(id);
      expect(received).toHaveLength(1);
      const text = received[0]?.text ?? '';
      expect(text).toContain(`[FAILURE] dbops ${type} ${id} FAILED: ${failureType}`);
      expect(text).toContain(what);
      expect(text).toContain(`workflow: ${id} (${type})`);
      expect(text).toContain(`failure: ${failureType} — ${failure.message.slice(0, 60)}`);
      expect(text).toContain(`\`dbops status ${id}\``);
      expect(text).toContain(`/namespaces/default/workflows/${id}`);

      const found = await mailsFor(id);
      expect(found).toHaveLength(1);
      expect(found[0]?.Subject).toBe(`[FAILURE] dbops ${type} ${id} FAILED: ${failureType}`);
      expect((await mailpit.message(found[0]?.ID ?? '')).Text).toContain(`dbops status ${id}`);
    },
  );

  it('a run that succeeds sends nothing', async () => {
    const id = t.workflowId('alert-ok');
    const result = await withWorker(() =>
      t.client.workflow.execute('connectionCheck', {
        taskQueue: t.taskQueue,
        workflowId: id,
        args: [{ targets: ['local_pg'] }],
      }),
    );
    expect(result).toMatchObject({ status: 'completed', healthy: true });
    expect(hooksFor(id)).toEqual([]);
    expect(await mailsFor(id)).toEqual([]);
    const events = (await t.client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const activities = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(activities).toEqual(['resolveTargets', 'checkConnection']);
  });

  it('a nightly backup that sent its own notification sends no second one', async () => {
    const id = t.workflowId('alert-nightly');
    // A night of the test's own (a random second of 2001), so its notification can be found and deleted.
    const timestamp = new Date(Date.UTC(2001, 0, 1) + Math.floor(Math.random() * 365 * 86_400) * 1000)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    await withWorker(() =>
      t.client.workflow
        .execute('nightlyBackup', {
          taskQueue: t.taskQueue,
          workflowId: id,
          args: [{ targets: ['no_such_connection'], skipRetention: true, timestamp }],
        })
        .catch((err: unknown) => err),
    );
    const events = (await t.client.workflow.getHandle(id).fetchHistory()).events ?? [];
    expect(events.some((e) => e.workflowExecutionFailedEventAttributes)).toBe(true);
    // The nightly's own report (its link names the run), and nothing else.
    const received = hooksFor(id);
    expect(received).toHaveLength(1);
    expect(received[0]?.text).toContain('no_such_connection: FAILED');
    expect(received[0]?.text).not.toContain(`${id} FAILED`);
    expect(await mailsFor(id)).toEqual([]);
    const nightlyMail = await mailpit.search(`subject:"dbops backup ${timestamp}"`);
    mails.push(...nightlyMail.map((m) => m.ID));
    expect(nightlyMail).toHaveLength(1);
    const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(scheduled.filter((name) => name === 'notifyChannels')).toEqual([]);
  });

  it('a channel that refuses the alert does not change how the run ends', async () => {
    refuse = true;
    const { id, failure } = await failing('backupDatabase', { target: 'no_such_connection' });
    expect((failure as { type?: string }).type).toBe('DBOPS_UNKNOWN_CONNECTION');
    expect(hooksFor(id)).toEqual([]);
    // The other channel still delivered.
    expect(await mailsFor(id)).toHaveLength(1);
  });

  it('with no channel configured nothing is sent and the run fails with its own failure', async () => {
    // A config file of its own: no e-mail (the local-stack default applies only without a file), no webhook.
    const file = join(dir, 'no-channels.json');
    writeFileSync(file, '{}');
    const webhook = process.env.DBOPS_NOTIFY_WEBHOOK_URL;
    delete process.env.DBOPS_NOTIFY_WEBHOOK_URL;
    try {
      const { id, failure } = await failing('backupDatabase', { target: 'no_such_connection' }, { DBOPS_CONFIG: file });
      expect((failure as { type?: string }).type).toBe('DBOPS_UNKNOWN_CONNECTION');
      const events = (await t.client.workflow.getHandle(id).fetchHistory()).events ?? [];
      const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
      expect(scheduled).toEqual(['backupSettings', 'notifyChannels']);
      expect(hooksFor(id)).toEqual([]);
      expect(await mailsFor(id)).toEqual([]);
    } finally {
      process.env.DBOPS_NOTIFY_WEBHOOK_URL = webhook;
    }
  });

  it('a wait that lasts past its time sends one reminder and keeps waiting; the signal still ends it', async () => {
    const id = t.workflowId('alert-remind');
    const result = await withWorker(async () => {
      const handle = await t.client.workflow.start('waitWithReminder', {
        taskQueue: t.taskQueue,
        workflowId: id,
        args: [{ afterMinutes: 0.02 }], // 1.2 s
      });
      const reminder = await hookFor(id);
      expect(reminder.text).toContain(`[WARNING] dbops waitWithReminder ${id} is waiting for you: the release signal`);
      expect(reminder.text).toContain(`do: dbops signal ${id} release`);
      // Still waiting after the reminder.
      expect((await handle.describe()).status.name).toBe('RUNNING');
      await handle.signal('release');
      return handle.result();
    });
    expect(result).toEqual({ released: true });
    expect(hooksFor(id)).toHaveLength(1);
    expect(await mailsFor(id)).toHaveLength(1);
  });

  it('a wait that ends before its time sends no reminder, and a timeout still ends the wait as condition() does', async () => {
    const early = t.workflowId('alert-early');
    const timedOut = t.workflowId('alert-timeout');
    const { first, second } = await withWorker(async () => {
      const handle = await t.client.workflow.start('waitWithReminder', {
        taskQueue: t.taskQueue,
        workflowId: early,
        args: [{ afterMinutes: 30 }],
      });
      await handle.signal('release');
      const firstResult = await handle.result();
      // Reminder at 0.6 s, the wait gives up at 2.4 s: one reminder, then `released: false`.
      const secondResult = await t.client.workflow.execute('waitWithReminder', {
        taskQueue: t.taskQueue,
        workflowId: timedOut,
        args: [{ afterMinutes: 0.01, timeoutMinutes: 0.04 }],
      });
      return { first: firstResult, second: secondResult };
    });
    expect(first).toEqual({ released: true });
    expect(hooksFor(early)).toEqual([]);
    expect(await mailsFor(early)).toEqual([]);
    expect(second).toEqual({ released: false });
    expect(hooksFor(timedOut)).toHaveLength(1);
    expect(await mailsFor(timedOut)).toHaveLength(1);
    const timers = ((await t.client.workflow.getHandle(timedOut).fetchHistory()).events ?? []).flatMap(
      (e) => e.timerStartedEventAttributes ?? [],
    );
    expect(timers).toHaveLength(2);
  });
});
