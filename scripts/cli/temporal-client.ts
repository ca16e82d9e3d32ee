/**
 * The Temporal client every dbops entry point uses: connects with a clear message when the server is not
 * there, and carries the secret guard so no workflow input or signal with a password leaves this process.
 */
import { Client, Connection, type WorkflowClientInterceptor } from '@temporalio/client';
import { DbopsError, ErrorCode } from '../../common/errors';
import { describeSecretFindings, findSecrets } from '../../common/secret-guard';
import type { DbopsConfig } from '../../config/load';

/** Throws DBOPS_SECRET_IN_INPUT before a start, signal or signal-with-start that carries a secret. */
export const secretGuardInterceptor: WorkflowClientInterceptor = {
  async startWithDetails(input, next) {
    rejectSecrets(input.options.args, 'input');
    return next(input);
  },
  async signal(input, next) {
    rejectSecrets(input.args, `signal ${input.signalName}`);
    return next(input);
  },
  async signalWithStart(input, next) {
    rejectSecrets(input.options.args, 'input');
    rejectSecrets(input.signalArgs, `signal ${input.signalName}`);
    return next(input);
  },
};

/** Throws DBOPS_SECRET_IN_INPUT when any of `args` carries a secret. */
export function rejectSecrets(args: readonly unknown[], label: string): void {
  const findings = args.flatMap((arg, i) => findSecrets(arg, args.length === 1 ? label : `${label}[${i}]`));
  if (findings.length > 0) throw new DbopsError(ErrorCode.SecretInInput, describeSecretFindings(findings));
}

/** A connected client and the connection to close when done. */
export interface DbopsClient {
  client: Client;
  close(): Promise<void>;
}

/** Connects to the configured Temporal server, or explains how to start one. */
export async function connectClient(config: DbopsConfig, connectTimeout = '5s'): Promise<DbopsClient> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporal.address, connectTimeout });
  } catch (err) {
    throw new DbopsError(
      ErrorCode.Unreachable,
      `cannot reach Temporal at ${config.temporal.address} (${(err as Error).message.split('\n')[0]}). ` +
        'Start the local stack with `npm run stack`, or point DBOPS_TEMPORAL_ADDRESS at your server.',
    );
  }
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    interceptors: { workflow: [secretGuardInterceptor] },
  });
  return { client, close: () => connection.close() };
}

/** The Web UI page of a workflow. */
export function workflowUrl(config: DbopsConfig, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
