/**
 * `npm run histories:record`: runs each workflow scenario on the running stack (`npm run stack`) and saves
 * its event history under test/replay/histories/. The replay test replays them against the current
 * workflow code, so a change that would break running workflows (non-determinism) fails CI. Re-record only
 * when a change is meant to be incompatible (and version it with patched() first).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { loadConfig } from '../config/load';
import { connectClient } from './cli/temporal-client';
import { PATHS } from './stack/paths';

/** One recorded run: the workflow type and its single input object. */
const SCENARIOS: { file: string; workflowType: string; input: unknown }[] = [
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
];

async function main(): Promise<void> {
  const config = loadConfig();
  const { client, close } = await connectClient(config);
  const dir = join(PATHS.root, 'test', 'replay', 'histories');
  mkdirSync(dir, { recursive: true });
  try {
    for (const scenario of SCENARIOS) {
      const workflowId = `record-${scenario.file.replace(/\.json$/, '')}-${Date.now()}`;
      const handle = await client.workflow.start(scenario.workflowType, {
        workflowId,
        taskQueue: config.temporal.taskQueue,
        args: [scenario.input],
      });
      await handle.result().catch(() => undefined); // failing scenarios are recorded too
      writeFileSync(join(dir, scenario.file), `${historyToJSON(await handle.fetchHistory())}\n`);
      process.stdout.write(`recorded ${scenario.file} (${workflowId})\n`);
    }
  } finally {
    await close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`record-histories: ${(err as Error).message}\n`);
  process.exit(1);
});
