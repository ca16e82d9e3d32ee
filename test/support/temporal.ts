/**
 * Helpers for integration tests on the shared Temporal dev server: a test config, a worker on a queue of
 * the test's own, and workflow ids that each test owns and cleans up.
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';
import { loadConfig, type DbopsConfig } from '../../config/load';
import { createDbopsWorker, type CreateWorkerOptions } from '../../workers/create-worker';

// Expected failures would otherwise fill the test output with worker WARN lines; each test file is its own
// process, so this runs once per file, before any worker exists.
Runtime.install({ logger: new DefaultLogger('ERROR') });

/** A unique, readable name for a test-owned object (queue, workflow id, database, bucket). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** The environment a CLI or worker process needs to use the test server and a given queue. */
export function testEnv(taskQueue: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DBOPS_TEMPORAL_ADDRESS: inject('temporalAddress'),
    DBOPS_TASK_QUEUE: taskQueue,
    DBOPS_ARTIFACT_DIR: `${tmpdir()}/dbops-test-artifacts`,
    ...extra,
  };
}

/** Config for the test server; it ignores the developer's dbops.config.json. */
export function testConfig(taskQueue: string, extra: Record<string, string> = {}): DbopsConfig {
  return loadConfig({ env: testEnv(taskQueue, extra), cwd: tmpdir() });
}

/** A client of the test server, with the ids of the workflows the test started, terminated at cleanup. */
export class TestTemporal {
  readonly taskQueue = uniqueName('q');
  private readonly ids = new Set<string>();

  private constructor(
    readonly client: Client,
    private readonly connection: Connection,
  ) {}

  /** Connects to the shared test server. */
  static async connect(): Promise<TestTemporal> {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    return new TestTemporal(new Client({ connection }), connection);
  }

  /** A new workflow id owned by this test. */
  workflowId(prefix: string): string {
    const id = uniqueName(prefix);
    this.ids.add(id);
    return id;
  }

  /** Records an id started by someone else (the CLI) so cleanup covers it. */
  own(id: string): void {
    this.ids.add(id);
  }

  /** Runs `body` while a dbops worker (with the test fixtures) polls this test's queue. */
  async withWorker<T>(
    body: () => Promise<T>,
    env: Record<string, string> = {},
    extra?: CreateWorkerOptions['extra'],
  ): Promise<T> {
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    try {
      const { worker, close } = await createDbopsWorker({
        config: testConfig(this.taskQueue, env),
        connection,
        log: { warn: () => undefined },
        workflowBundle: { codePath: inject('workflowBundlePath') },
        extra,
      });
      try {
        return await worker.runUntil(body);
      } finally {
        await close();
      }
    } finally {
      await connection.close();
    }
  }

  /** Terminates every still-running workflow this test owns, then closes the connection. */
  async cleanup(): Promise<void> {
    for (const id of this.ids) {
      const handle = this.client.workflow.getHandle(id);
      const description = await handle.describe().catch(() => undefined);
      if (description?.status.name === 'RUNNING') await handle.terminate('test cleanup');
    }
    await this.connection.close();
  }
}
