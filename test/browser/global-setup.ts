/**
 * Browser-test global setup: the journeys run against the local stack as an operator sees it (Temporal
 * Web UI on 8233, the worker on task queue `dbops`), in the machine's Chromium — installed when missing.
 */
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { Connection } from '@temporalio/client';
import { ensureChromium } from '../../scripts/stack/chromium';
import { TEMPORAL } from '../../scripts/stack/temporal-server';
import { assertServersUp } from '../support/servers';
import { TASK_QUEUE } from './support/stack';

declare module 'vitest' {
  export interface ProvidedContext {
    chromiumPath: string;
  }
}

const START_STACK = 'run `npm run stack` first (npm test and npm run test:browser do)';

export default async function setup(project: TestProject): Promise<void> {
  await assertServersUp();
  const ui = await fetch(`http://${TEMPORAL.host}:${TEMPORAL.uiPort}/api/v1/settings`).catch(() => undefined);
  if (!ui?.ok) throw new Error(`the Temporal Web UI does not answer on port ${TEMPORAL.uiPort}: ${START_STACK}`);
  const connection = await Connection.connect({ address: `${TEMPORAL.host}:${TEMPORAL.port}` });
  try {
    const queue = await connection.workflowService.describeTaskQueue({
      namespace: TEMPORAL.namespace,
      taskQueue: { name: TASK_QUEUE },
      taskQueueType: 2, // activity pollers: the worker is up, not only a cached workflow poller
    });
    if ((queue.pollers ?? []).length === 0)
      throw new Error(`no dbops worker polls task queue ${TASK_QUEUE} on the local stack: ${START_STACK}`);
  } finally {
    await connection.close();
  }
  project.provide(
    'chromiumPath',
    ensureChromium((line) => process.stderr.write(`${line}\n`)),
  );
}
