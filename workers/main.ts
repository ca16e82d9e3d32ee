/**
 * `npm run worker`: hosts every dbops workflow and activity on the configured task queue (and the activities
 * on its host queue `<taskQueue>@<hostId>`) until SIGINT or SIGTERM, then drains (running activities get
 * `worker.shutdownGraceSeconds`) and closes its pools.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { DbopsError } from '../common/errors';
import { loadConfig } from '../config/load';
import { createDbopsWorker } from './create-worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = new DefaultLogger(config.worker.logLevel);
  Runtime.install({ logger });

  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: config.temporal.address });
  } catch (err) {
    throw new Error(
      `cannot reach Temporal at ${config.temporal.address} (${(err as Error).message}). ` +
        'Start the local stack with `npm run stack`, or set DBOPS_TEMPORAL_ADDRESS.',
    );
  }
  try {
    const { worker, close, hostQueue, identity } = await createDbopsWorker({ config, connection, log: logger });
    logger.info(
      `dbops worker polling task queue "${config.temporal.taskQueue}" and host queue "${hostQueue}" on ${config.temporal.address} as ${identity}`,
    );
    try {
      await worker.run();
    } finally {
      await close();
    }
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  const message = err instanceof DbopsError ? `${err.code}: ${err.message}` : String((err as Error)?.stack ?? err);
  console.error(`dbops worker: ${message}`);
  process.exit(1);
});
