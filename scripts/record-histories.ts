/**
 * `npm run histories:record`: runs each workflow scenario on the running stack (`npm run stack`; the migrations
 * write into a database `dbops_record` created for the recording and dropped after it) and saves
 * its event history under test/replay/histories/. The replay test replays them against the current
 * workflow code, so a change that would break running workflows (non-determinism) fails CI. Re-record only
 * when a change is meant to be incompatible (and version it with patched() first).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { loadConfig } from '../config/load';
import { connectClient } from './cli/temporal-client';
import type { Progress } from '../common/progress';
import { createHelloAgentsDb } from './sample/helloagents';
import { adminQuery, freshDatabase } from './stack/local-postgres';
import { PATHS } from './stack/paths';

const sample = join(tmpdir(), 'dbops-record-helloagents.db');
const bigSample = join(tmpdir(), 'dbops-record-helloagents-big.db');
const target = 'postgres://root@127.0.0.1:5432/dbops_record';

/** One recorded run: the workflow type, its single input object, and optionally how an operator drives it. */
const SCENARIOS: {
  file: string;
  workflowType: string;
  input: unknown;
  drive?: (handle: WorkflowHandle) => Promise<void>;
}[] = [
  { file: 'connectionCheck-all-local.json', workflowType: 'connectionCheck', input: {} },
  {
    file: 'connectionCheck-one-down.json',
    workflowType: 'connectionCheck',
    input: { targets: ['local_pg', 'postgres://root@127.0.0.1:1/test'] },
  },
  {
    file: 'connectionCheck-unknown-name.json',
    workflowType: 'connectionCheck',
    input: { targets: ['no_such_connection'] },
  },
  {
    file: 'migration-completed.json',
    workflowType: 'migrateSqliteToPostgres',
    input: { source: sample, target, schema: 'dbops_record', rollbackWindowMinutes: 0, chunkRows: 500 },
  },
  {
    file: 'migration-missing-source.json',
    workflowType: 'migrateSqliteToPostgres',
    input: { source: '/nonexistent/dbops-record.db', target, schema: 'dbops_record' },
  },
  {
    file: 'migration-rollback-after-cutover.json',
    workflowType: 'migrateSqliteToPostgres',
    input: { source: sample, target, schema: 'dbops_record', rollbackWindowMinutes: 30, requireApproval: true },
    drive: async (handle) => {
      await waitForPhase(handle, 'awaiting_approval');
      await handle.signal('approve');
      await waitForPhase(handle, 'awaiting_finalize');
      await handle.signal('rollback', { reason: 'recorded rollback' });
    },
  },
  {
    file: 'migration-rollback-during-import.json',
    workflowType: 'migrateSqliteToPostgres',
    input: { source: bigSample, target, schema: 'dbops_record_import', chunkRows: 100, concurrency: 2 },
    drive: async (handle) => {
      await waitForPhase(handle, 'import');
      await handle.signal('rollback', { reason: 'recorded rollback during import' });
    },
  },
  {
    file: 'migration-rollback-no-previous-schema.json',
    workflowType: 'migrateSqliteToPostgres',
    input: { source: sample, target, schema: 'dbops_record_fresh', rollbackWindowMinutes: 30 },
    drive: async (handle) => {
      await waitForPhase(handle, 'awaiting_finalize');
      await handle.signal('rollback', { reason: 'recorded rollback, nothing before' });
    },
  },
];

async function waitForPhase(handle: WorkflowHandle, phase: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await handle.query<Progress>('progress')).phase === phase) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${handle.workflowId} never reached phase ${phase}`);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  const dir = join(PATHS.root, 'test', 'replay', 'histories');
  if (!existsSync(sample)) createHelloAgentsDb(sample, { users: 20 });
  if (!existsSync(bigSample)) createHelloAgentsDb(bigSample, { users: 300 });
  mkdirSync(dir, { recursive: true });
  await freshDatabase('dbops_record');
  try {
    for (const scenario of SCENARIOS) {
      const workflowId = `record-${scenario.file.replace(/\.json$/, '')}-${Date.now()}`;
      const handle = await client.workflow.start(scenario.workflowType, {
        workflowId,
        taskQueue: config.temporal.taskQueue,
        args: [scenario.input],
      });
      await scenario.drive?.(handle);
      await handle.result().catch(() => undefined); // failing scenarios are recorded too
      writeFileSync(join(dir, scenario.file), `${historyToJSON(await handle.fetchHistory())}\n`);
      process.stdout.write(`recorded ${scenario.file} (${workflowId})\n`);
    }
  } finally {
    await close();
    await adminQuery('DROP DATABASE IF EXISTS dbops_record WITH (FORCE)');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`record-histories: ${(err as Error).message}\n`);
  process.exit(1);
});
