/**
 * Builds the dbops worker: every workflow and activity on one task queue, activities from the factory,
 * pools owned by the worker. Used by `npm run worker` and by the integration tests.
 */
import { existsSync, statSync } from 'node:fs';
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
  /** Interceptors and heartbeat throttling (tests hold an activity at a phase with an interceptor). */
  extra?: Pick<WorkerOptions, 'interceptors' | 'defaultHeartbeatThrottleInterval' | 'maxHeartbeatThrottleInterval'>;
}

/** A worker plus the resources it owns. Call `close()` after `run()` returns. */
export interface DbopsWorker {
  worker: Worker;
  close(): Promise<void>;
}

/** The pre-built workflow bundle (`npm run build` writes it; see scripts/bundle-workflows.ts). */
export const WORKFLOW_BUNDLE = join(__dirname, '..', 'workflow-bundle.js');

/** The pre-built bundle when it is at least as new as the compiled code, else undefined (bundle at start). */
function prebuiltBundle(): WorkerOptions['workflowBundle'] {
  const buildInfo = join(__dirname, '..', '.tsbuildinfo');
  if (!existsSync(WORKFLOW_BUNDLE) || !existsSync(buildInfo)) return undefined;
  return statSync(WORKFLOW_BUNDLE).mtimeMs >= statSync(buildInfo).mtimeMs ? { codePath: WORKFLOW_BUNDLE } : undefined;
}

/** The entry file of the workflows, as TypeScript source (tests, tsx) or compiled JavaScript (dist/). */
export function workflowsEntry(): string {
  const base = join(__dirname, '..', 'workflows', 'index');
  return existsSync(`${base}.ts`) ? `${base}.ts` : `${base}.js`;
}

function workflowSource(
  given: WorkerOptions['workflowBundle'],
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = given ?? prebuiltBundle();
  return bundle ? { workflowBundle: bundle } : { workflowsPath: workflowsEntry() };
}

/** Creates the worker; nothing connects to a database until an activity needs it. */
export async function createDbopsWorker(options: CreateWorkerOptions): Promise<DbopsWorker> {
  const { config } = options;
  // One connection per activity slot, plus two for short queries beside them.
  const connections = new ConnectionRegistry(options.log, config.worker.maxConcurrentActivities + 2);
  const activities = createActivities({ config, connections });
  try {
    const worker = await Worker.create({
      connection: options.connection,
      namespace: config.temporal.namespace,
      taskQueue: options.taskQueue ?? config.temporal.taskQueue,
      ...workflowSource(options.workflowBundle),
      activities,
      maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
      // Default is 0: SIGTERM would cancel running activities at once. Give them time to finish a chunk.
      shutdownGraceTime: `${config.worker.shutdownGraceSeconds}s`,
      ...options.extra,
    });
    return { worker, close: () => connections.close() };
  } catch (err) {
    await connections.close();
    throw err;
  }
}
