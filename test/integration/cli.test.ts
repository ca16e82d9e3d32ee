/**
 * The `dbops` command line against the real Temporal dev server and a real worker: start commands with
 * `--id --wait --json`, `status`, `signal`, `result`, `list`, exit codes and the bad inputs of issue 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, runDbops } from '../support/cli';
import { TestTemporal, testEnv } from '../support/temporal';

describe('dbops CLI', () => {
  let t: TestTemporal;
  let env: Record<string, string>;

  beforeAll(async () => {
    t = await TestTemporal.connect();
    env = testEnv(t.taskQueue);
  });
  afterAll(() => t.cleanup());

  it('check --wait --json prints one JSON result and exits 0', async () => {
    const id = t.workflowId('cli-check');
    const run = await t.withWorker(() =>
      runDbops(['check', 'local_pg', 'local_redis', '--id', id, '--wait', '--json'], env),
    );
    expect(run.code).toBe(0);
    const result = parseJson<{ status: string; healthy: boolean; targets: { target: string; ok: boolean }[] }>(run);
    expect(result).toMatchObject({ status: 'completed', healthy: true });
    expect(result.targets.map((r) => [r.target, r.ok])).toEqual([
      ['local_pg', true],
      ['local_redis', true],
    ]);
    const status = await runDbops(['status', id, '--json'], env);
    expect(status.code).toBe(0);
    expect(parseJson(status)).toMatchObject({
      workflowId: id,
      type: 'connectionCheck',
      status: 'COMPLETED',
      phase: 'completed',
    });
  });

  it('a CLI start carries a summary and its input for the Web UI; the run keeps its current details', async () => {
    const id = t.workflowId('cli-summary');
    const details = await t.withWorker(async () => {
      const run = await runDbops(['check', 'local_pg', '--id', id, '--wait', '--json'], env);
      expect(run.code).toBe(0);
      // What the Web UI shows: the static summary and details, and the metadata query's current details.
      const handle = t.client.workflow.getHandle(id);
      const described = await handle.describe();
      expect(await described.staticSummary()).toBe('check local_pg');
      expect(await described.staticDetails()).toContain('"targets": [\n    "local_pg"\n  ]');
      return (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails;
    });
    expect(details).toContain('**Phase:** completed');
  });

  it('an unknown connection: exit 1 and {"status":"failed","error":{type,message}} naming it', async () => {
    const id = t.workflowId('cli-unknown');
    const run = await t.withWorker(() => runDbops(['check', 'nosuch_db', '--id', id, '--wait', '--json'], env));
    expect(run.code).toBe(1);
    const out = parseJson<{ status: string; error: { type: string; message: string } }>(run);
    expect(out.status).toBe('failed');
    expect(out.error.type).toBe('DBOPS_UNKNOWN_CONNECTION');
    expect(out.error.message).toContain('"nosuch_db"');
  });

  it('migrate with an invalid option: refused before start (exit 2) by the contract the workflow also checks', async () => {
    const id = t.workflowId('cli-migrate-bad');
    const run = await runDbops(
      [
        'migrate',
        '--source',
        '/nonexistent.db',
        '--target',
        'local_pg',
        '--chunk-rows',
        '5',
        '--id',
        id,
        '--wait',
        '--json',
      ],
      env,
    );
    expect(run.code).toBe(2);
    const out = parseJson<{ status: string; error: { type: string; message: string } }>(run);
    expect(out).toMatchObject({ status: 'failed', error: { type: 'DBOPS_BAD_INPUT' } });
    expect(out.error.message).toContain('chunkRows must be a whole number ≥ 100, got 5');
    await expect(t.client.workflow.getHandle(id).describe()).rejects.toThrow(/not found/i);
  });

  it('a URL with a password: refused before start (exit 2), nothing reaches Temporal', async () => {
    const id = t.workflowId('cli-secret');
    const run = await runDbops(
      ['check', 'postgres://root:s3cret@127.0.0.1:5432/test', '--id', id, '--wait', '--json'],
      env,
    );
    expect(run.code).toBe(2);
    const out = parseJson<{ error: { type: string; message: string } }>(run);
    expect(out.error.type).toBe('DBOPS_SECRET_IN_INPUT');
    expect(out.error.message).toContain('DBOPS_PASSWORD_');
    expect(run.stdout + run.stderr).not.toContain('s3cret');
    await expect(t.client.workflow.getHandle(id).describe()).rejects.toThrow(/not found/i);
  });

  it('status shows the live phase; signal with --arg ends the workflow; result prints it', async () => {
    const id = t.workflowId('cli-signal');
    await t.client.workflow.start('waitForOperator', { workflowId: id, taskQueue: t.taskQueue, args: [{}] });
    await t.withWorker(async () => {
      const status = await runDbops(['status', id, '--json'], env);
      expect(status.code).toBe(0);
      expect(parseJson(status)).toMatchObject({ status: 'RUNNING', phase: 'awaiting_operator' });

      const typo = await runDbops(['signal', id, 'relase'], env);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain('has no signal "relase"; it accepts: release, rollback');

      const badArg = await runDbops(['signal', id, 'release', '--arg', '{not json'], env);
      expect(badArg.code).toBe(2);
      expect(badArg.stderr).toContain('--arg is not valid JSON');

      const sent = await runDbops(['signal', id, 'release', '--arg', '{"note":"go ahead"}'], env);
      expect(sent.code).toBe(0);
      const result = await runDbops(['result', id, '--json'], env);
      expect(result.code).toBe(0);
      expect(parseJson(result)).toEqual({ status: 'completed', note: 'go ahead' });
    });
  });

  it('result of a rolled-back workflow exits 1; signalling a closed workflow exits 1', async () => {
    const id = t.workflowId('cli-rollback');
    await t.client.workflow.start('waitForOperator', { workflowId: id, taskQueue: t.taskQueue, args: [{}] });
    await t.withWorker(async () => {
      expect((await runDbops(['signal', id, 'rollback'], env)).code).toBe(0);
      const result = await runDbops(['result', id, '--json'], env);
      expect(result.code).toBe(1);
      expect(parseJson(result)).toEqual({ status: 'rolled_back' });
    });
    const late = await runDbops(['signal', id, 'release'], env);
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('is COMPLETED, not running');
  });

  it('a signal argument with a password is refused (exit 2)', async () => {
    const id = t.workflowId('cli-signal-secret');
    await t.client.workflow.start('waitForOperator', { workflowId: id, taskQueue: t.taskQueue, args: [{}] });
    const run = await runDbops(['signal', id, 'release', '--arg', '{"password":"hunter2"}'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('signal release.password');
    expect(run.stderr).not.toContain('hunter2');
  });

  it('list --type --json includes the workflows this test started', async () => {
    const id = t.workflowId('cli-list');
    await t.withWorker(() => runDbops(['check', 'local_pg', '--id', id, '--wait', '--json'], env));
    // Visibility is eventually consistent: wait on the listing itself, not on time.
    await expect
      .poll(
        async () => {
          const run = await runDbops(['list', '--type', 'connectionCheck', '--limit', '100', '--json'], env);
          return parseJson<{ workflows: { workflowId: string; phase: string | null }[] }>(run).workflows.find(
            (w) => w.workflowId === id,
          );
        },
        { timeout: 15_000 },
      )
      .toMatchObject({ workflowId: id, phase: 'completed' });
  });

  it.each([
    [['frobnicate'], 'unknown command'],
    [['status'], "missing required argument 'workflowId'"],
    [['list', '--limit', 'many'], '--limit must be a positive whole number'],
  ])('bad usage %j exits 2', async (args, message) => {
    const run = await runDbops(args, env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it('status of an unknown workflow id: exit 1, says how to find one', async () => {
    const run = await runDbops(['status', 'no-such-workflow-id'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no workflow with id "no-such-workflow-id"');
  });

  it('Temporal unreachable: exit 1 and says to run npm run stack', async () => {
    const run = await runDbops(['list'], { ...env, DBOPS_TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
    expect(run.stderr).toContain('npm run stack');
  });

  it('an invalid config value: exit 2 naming the option and its source', async () => {
    const run = await runDbops(['list'], { ...env, DBOPS_S3_BUCKET: 'Not_A_Bucket' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/s3\.bucket \(from env DBOPS_S3_BUCKET\): must be a valid S3 bucket name/);
  });
});
