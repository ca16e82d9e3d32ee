/**
 * Builds the dbops worker: every workflow and activity on the shared task queue, and the same activities on
 * the worker's host task queue `<taskQueue>@<hostId>`, where a migration schedules the steps that read files
 * of this host (docs/architecture.md, "Scale out"). Activities come from the factory, once for both queues,
 * so they share pools and the source cache; the pools are owned by the worker. Used by `npm run worker` and
 * by the integration tests.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { ConnectionRegistry, type RegistryLogger } from '../activities/connections/registry';
import { sourceCacheDir } from '../activities/migration/activities';
import { hostQueueOf } from '../activities/migration/source-staging';
import { ObjectCache } from '../activities/s3/cache';
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

/** The Temporal workers of one process (shared queue, host queue), run and stopped together. */
export class WorkerGroup {
  constructor(readonly workers: readonly Worker[]) {}

  /** Runs every worker until all have shut down (SIGINT/SIGTERM shut them all down); rejects if one fails. */
  async run(): Promise<void> {
    await this.runUntil(() => new Promise<never>(() => undefined));
  }

  /** Runs the workers while `body` runs, then shuts them down (like `Worker.runUntil`). */
  async runUntil<T>(body: () => Promise<T>): Promise<T> {
    const runs = this.workers.map((w) => w.run());
    // One worker stopping (a signal, or a fatal error) stops the others, and ends the wait.
    const stopped = Promise.race(runs).then(
      () => ({ done: 'stopped' as const }),
      (err: unknown) => ({ done: 'failed' as const, err }),
    );
    try {
      const first = await Promise.race([body().then((value) => ({ done: 'body' as const, value })), stopped]);
      if (first.done === 'failed') throw first.err;
      if (first.done === 'stopped') return (await Promise.all(runs)) as never;
      return first.value;
    } finally {
      for (const w of this.workers) if (w.getState() === 'RUNNING') w.shutdown();
      const results = await Promise.allSettled(runs);
      const failure = results.find((r) => r.status === 'rejected');
      if (failure) throw failure.reason;
    }
  }
}

/** A worker plus the resources it owns. Call `close()` after `run()` returns. */
export interface DbopsWorker {
  worker: WorkerGroup;
  /** The host task queue this process polls besides the shared one. */
  hostQueue: string;
  /** The identity the workers report (history's ActivityTaskStarted events): `<pid>@<hostId>`. */
  identity: string;
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
  // One connection per activity slot, plus two for short queries beside them. The host queue's slots come on
  // top, but its steps (backup, export, staging, report) hardly use the target; chunks that run there while
  // the backup is being staged wait for a free connection rather than open more.
  const connections = new ConnectionRegistry(options.log, config.worker.maxConcurrentActivities + 2);
  const activities = createActivities({ config, connections });
  const taskQueue = options.taskQueue ?? config.temporal.taskQueue;
  const hostQueue = hostQueueOf(taskQueue, config.worker.hostId);
  // The SDK's default is <pid>@<os hostname>: two workers of one machine given distinct host ids would
  // look alike in the history; the host id tells which host ran a step.
  const identity = `${process.pid}@${config.worker.hostId}`;
  const common = {
    connection: options.connection,
    namespace: config.temporal.namespace,
    identity,
    activities,
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    // Default is 0: SIGTERM would cancel running activities at once. Give them time to finish a chunk.
    shutdownGraceTime: `${config.worker.shutdownGraceSeconds}s`,
  } satisfies Partial<WorkerOptions>;
  await pruneSourceCache(config, options.log);
  const created: Worker[] = [];
  try {
    created.push(
      await Worker.create({ ...common, taskQueue, ...workflowSource(options.workflowBundle), ...options.extra }),
    );
    // Activities only: a migration's file-local steps (backup, export, staging, final checksum, report).
    const { interceptors, ...throttling } = options.extra ?? {};
    created.push(
      await Worker.create({
        ...common,
        taskQueue: hostQueue,
        ...throttling,
        ...(interceptors?.activity ? { interceptors: { activity: interceptors.activity } } : {}),
      }),
    );
    return { worker: new WorkerGroup(created), hostQueue, identity, close: () => connections.close() };
  } catch (err) {
    await connections.close();
    throw err;
  }
}

/** Removes cached sources unused for `worker.cacheMaxAgeDays` (best effort: a failure is logged, not fatal). */
async function pruneSourceCache(config: DbopsConfig, log: RegistryLogger): Promise<void> {
  const cache = new ObjectCache(
    sourceCacheDir(config),
    () => {
      throw new Error('pruning downloads nothing');
    },
    config.s3.bucket,
  );
  try {
    const removed = await cache.prune(config.worker.cacheMaxAgeDays);
    if (removed.length > 0)
      log.warn(
        `removed ${removed.length} cached source(s) unused for ${config.worker.cacheMaxAgeDays} day(s) from ${cache.dir}`,
      );
  } catch (err) {
    log.warn(`could not prune the source cache ${cache.dir}: ${(err as Error).message}`);
  }
}
