/**
 * `npm run stack` is idempotent: with the stack up (the test command starts it), a second start changes
 * nothing, keeps the same processes, and `stack:status` reports every component up.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { PATHS } from '../../scripts/stack/paths';
import { parseJson, runDbops } from '../support/cli';
import { uniqueName } from '../support/temporal';

const exec = promisify(execFile);
const stack = (command: string) =>
  exec(process.execPath, [join(PATHS.root, 'dist', 'scripts', 'stack', 'main.js'), command, '--json'], {
    cwd: PATHS.root,
  });

interface StartSummary {
  changes: string[];
  temporal: { pid: number };
  minio: { pid: number };
  worker: { pid: number };
  databases: { name: string; up: boolean }[];
}

describe('local stack', () => {
  it('a second `stack start` changes nothing and keeps the same processes', async () => {
    const first = JSON.parse((await stack('start')).stdout) as StartSummary;
    const second = JSON.parse((await stack('start')).stdout) as StartSummary;
    expect(second.changes).toEqual([]);
    expect([second.temporal.pid, second.minio.pid, second.worker.pid]).toEqual([
      first.temporal.pid,
      first.minio.pid,
      first.worker.pid,
    ]);
    expect(second.databases.map((d) => [d.name, d.up])).toEqual([
      ['PostgreSQL', true],
      ['MariaDB', true],
      ['Redis', true],
    ]);
  });

  it('status reports Temporal, the Web UI, MinIO, the worker and the databases up', async () => {
    const status = JSON.parse((await stack('status')).stdout) as {
      temporal: { listening: boolean };
      ui: { listening: boolean };
      minio: { listening: boolean };
      worker: { pid: number | null };
    };
    expect(status).toMatchObject({
      temporal: { listening: true },
      ui: { listening: true },
      minio: { listening: true },
    });
    expect(status.worker.pid).toEqual(expect.any(Number));
  });
});

describe('the stack serves operators', () => {
  it('a workflow started with the CLI on the stack is listed by the Web UI at 127.0.0.1:8233', async () => {
    const id = uniqueName('stack-ui');
    try {
      const run = await runDbops(['check', 'local_pg', '--id', id, '--wait', '--json'], {});
      expect(run.code).toBe(0);
      expect(parseJson(run)).toMatchObject({ healthy: true });
      await expect
        .poll(
          async () => {
            const res = await fetch(
              `http://127.0.0.1:8233/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowId='${id}'`)}`,
            );
            const body = (await res.json()) as { executions?: { execution: { workflowId: string }; status: string }[] };
            return body.executions?.map((e) => [e.execution.workflowId, e.status]);
          },
          { timeout: 15_000 },
        )
        .toEqual([[id, 'WORKFLOW_EXECUTION_STATUS_COMPLETED']]);
    } finally {
      // The stack's server keeps history on disk: remove what this test created.
      const connection = await Connection.connect({ address: '127.0.0.1:7233' });
      await connection.workflowService
        .deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: id } })
        .catch(() => undefined);
      await connection.close();
    }
  });
});
