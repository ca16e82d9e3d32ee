/**
 * Builds the dbops worker: every workflow and activity on one task queue, activities from the factory,
 * pools owned by the worker. Used by `npm run worker` and by the integration tests.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { ConnectionRegistry, type RegistryLogger } from '../activities/connections/registry';
import type { DbopsConfig } from '../config/load';

/** What the worker needs from its caller; the caller keeps ownership of `connection`. */
export interface CreateWorkerOptions {
  config: DbopsConfig;
  connection: NativeConnection;
  log: RegistryLogger;
  /** Pre-built workflow bundle (tests bundle once); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Overrides the task queue of the config (tests use one queue each). */
  taskQueue?: string;
}

/** A worker plus the resources it owns. Call `close()` after `run()` returns. */
export interface DbopsWorker {
  worker: Worker;
  close(): Promise<void>;
}

/** The entry file of the workflows, as TypeScript source (tests, tsx) or compiled JavaScript (dist/). */
export function workflowsEntry(): string {
  const base = join(__dirname, '..', 'workflows', 'index');
  return existsSync(`${base}.ts`) ? `${base}.ts` : `${base}.js`;
}

/** Creates the worker; nothing connects to a database until an activity needs it. */
export async function createDbopsWorker(options: CreateWorkerOptions): Promise<DbopsWorker> {
  const { config } = options;
  const connections = new ConnectionRegistry(options.log);
  const activities = createActivities({ config, connections });
  try {
    const worker = await Worker.create({
      connection: options.connection,
      namespace: config.temporal.namespace,
      taskQueue: options.taskQueue ?? config.temporal.taskQueue,
      ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: workflowsEntry() }),
      activities,
      maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
      // Default is 0: SIGTERM would cancel running activities at once. Give them time to finish a chunk.
      shutdownGraceTime: `${config.worker.shutdownGraceSeconds}s`,
    });
    return { worker, close: () => connections.close() };
  } catch (err) {
    await connections.close();
    throw err;
  }
}
