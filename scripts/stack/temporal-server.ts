/** The Temporal dev server of the local stack: start-dev with a SQLite file, so workflows survive restarts. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_KEYS } from '../../common/search-attributes';
import { PATHS } from './paths';
import { portOpen, runningPid, startDetached, waitForPort } from './processes';
import { ensureTool } from './tools';

/** Fixed local addresses (the README and the default config use them). */
export const TEMPORAL = { host: '127.0.0.1', port: 7233, uiPort: 8233, namespace: 'default' } as const;

/** Starts the server unless one is running (ours, or another on the same port); pid null = not ours. */
export async function startTemporal(say: (line: string) => void): Promise<{ started: boolean; pid: number | null }> {
  // The binary is needed even when a server already runs: the tests start their own from it.
  const binary = ensureTool('temporal', say);
  const existing = runningPid('temporal');
  if (existing !== undefined) return { started: false, pid: existing };
  if (await portOpen(TEMPORAL.host, TEMPORAL.port)) {
    say(
      `Temporal: ${TEMPORAL.host}:${TEMPORAL.port} is already served by a process this checkout did not start; using it`,
    );
    return { started: false, pid: null };
  }
  mkdirSync(dirname(PATHS.temporalDb), { recursive: true });
  const proc = startDetached('temporal', binary, [
    'server',
    'start-dev',
    '--db-filename',
    PATHS.temporalDb,
    '--ip',
    TEMPORAL.host,
    '--port',
    String(TEMPORAL.port),
    '--ui-port',
    String(TEMPORAL.uiPort),
    '--namespace',
    TEMPORAL.namespace,
    '--log-level',
    'warn',
  ]);
  await waitForPort(TEMPORAL.host, TEMPORAL.port, 60_000, 'Temporal', proc.log);
  await waitForPort(TEMPORAL.host, TEMPORAL.uiPort, 30_000, 'Temporal Web UI', proc.log);
  return { started: true, pid: proc.pid };
}

/** Registers the search attributes the workflows set (common/search-attributes.ts); returns the ones added. */
export async function ensureSearchAttributes(): Promise<string[]> {
  const connection = await Connection.connect({ address: `${TEMPORAL.host}:${TEMPORAL.port}`, connectTimeout: '20s' });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: TEMPORAL.namespace,
    });
    const missing = SEARCH_ATTRIBUTE_KEYS.filter((key) => !(key.name in (customAttributes ?? {})));
    if (missing.length > 0) {
      await connection.operatorService.addSearchAttributes({
        namespace: TEMPORAL.namespace,
        searchAttributes: Object.fromEntries(
          missing.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]]),
        ),
      });
    }
    return missing.map((key) => key.name);
  } finally {
    await connection.close();
  }
}
