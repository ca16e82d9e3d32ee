/**
 * The local stack the browser journeys run against (what `npm run stack` starts): its Temporal server and
 * the worker on task queue `dbops`. Each test owns the workflow ids it starts and deletes them at the end.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { TEMPORAL } from '../../../scripts/stack/temporal-server';

/** The stack's task queue (the default config's). */
export const TASK_QUEUE = 'dbops';

/** A client of the stack's Temporal server, and the workflow ids a test owns. */
export class StackTemporal {
  private readonly ids = new Set<string>();

  private constructor(
    readonly client: Client,
    private readonly connection: Connection,
  ) {}

  static async connect(): Promise<StackTemporal> {
    const connection = await Connection.connect({ address: `${TEMPORAL.host}:${TEMPORAL.port}` });
    return new StackTemporal(new Client({ connection, namespace: TEMPORAL.namespace }), connection);
  }

  /** A new workflow id the test owns (typed into the Start form). */
  workflowId(prefix: string): string {
    const id = `browser-${prefix}-${randomUUID().slice(0, 8)}`;
    this.ids.add(id);
    return id;
  }

  /** Records a workflow started by someone else (a Schedule) so cleanup covers it. */
  own(id: string): void {
    this.ids.add(id);
  }

  /** Terminates what still runs and deletes every owned workflow from the server's history. */
  async cleanup(): Promise<void> {
    const service = this.client.workflowService;
    for (const workflowId of this.ids) {
      try {
        const handle = this.client.workflow.getHandle(workflowId);
        const { status } = await handle.describe();
        if (status.name === 'RUNNING') await handle.terminate('browser test cleanup');
        await service.deleteWorkflowExecution({ namespace: TEMPORAL.namespace, workflowExecution: { workflowId } });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    }
    this.ids.clear();
    await this.connection.close();
  }
}
