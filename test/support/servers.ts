/**
 * Connectivity check run before the integration tests: each server the tests need, and the one-line fix
 * when it does not answer. Also the addresses the tests use.
 */
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { type AddressInfo, createConnection as connectTcp, createServer } from 'node:net';
import pg from 'pg';
import { LOCAL_MAILPIT, LOCAL_MINIO } from '../../config/defaults';

/** Admin URLs of the machine's servers (trust auth / empty password, as the machine provides them). */
export const SERVERS = {
  postgres: 'postgres://root@127.0.0.1:5432/postgres',
  mysql: 'mysql://root@127.0.0.1:3306/test',
  redis: 'redis://127.0.0.1:6379/0',
  minio: LOCAL_MINIO.endpoint,
  mailpitApi: LOCAL_MAILPIT.apiUrl,
  smtp: { host: LOCAL_MAILPIT.smtpHost, port: LOCAL_MAILPIT.smtpPort },
} as const;

const HOW_TO_START = 'run `npm run stack` (it starts what is installed and names what is missing)';

/** Throws one error listing every server that does not answer, with how to start it. */
export async function assertServersUp(): Promise<void> {
  const checks: [string, () => Promise<unknown>][] = [
    ['PostgreSQL at 127.0.0.1:5432', () => withPg(SERVERS.postgres, (c) => c.query('SELECT 1'))],
    [
      'MariaDB at 127.0.0.1:3306',
      async () => {
        const c = await createConnection({ uri: SERVERS.mysql, connectTimeout: 3_000 });
        await c.end();
      },
    ],
    [
      'Redis at 127.0.0.1:6379',
      async () => {
        const r = new Redis(SERVERS.redis, {
          lazyConnect: true,
          connectTimeout: 3_000,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        r.on('error', () => undefined); // the failed connect is reported through connect()'s rejection
        try {
          await r.connect();
          await r.ping();
        } finally {
          r.disconnect();
        }
      },
    ],
    [
      'MinIO at 127.0.0.1:9000',
      async () => {
        const res = await fetch(`${SERVERS.minio}/minio/health/live`, { signal: AbortSignal.timeout(3_000) });
        if (!res.ok) throw new Error(`health check answered ${res.status}`);
      },
    ],
    [
      `Mailpit at ${SERVERS.smtp.host}:${SERVERS.smtp.port} (SMTP) and ${SERVERS.mailpitApi} (API)`,
      async () => {
        await smtpGreeting(SERVERS.smtp.host, SERVERS.smtp.port);
        const res = await fetch(`${SERVERS.mailpitApi}/readyz`, { signal: AbortSignal.timeout(3_000) });
        if (!res.ok) throw new Error(`readiness check answered ${res.status}`);
      },
    ],
  ];
  const failures = (
    await Promise.all(
      checks.map(async ([name, check]) => {
        try {
          await check();
          return undefined;
        } catch (err) {
          return `${name} is not answering (${(err as Error).message})`;
        }
      }),
    )
  ).filter((f): f is string => f !== undefined);
  if (failures.length > 0) {
    throw new Error(`integration tests need real servers:\n  - ${failures.join('\n  - ')}\nTo fix: ${HOW_TO_START}.`);
  }
}

/** Resolves once an SMTP server at host:port sends its 220 greeting; rejects otherwise (3 s). */
function smtpGreeting(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host, port });
    const done = (err?: Error): void => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setTimeout(3_000, () => done(new Error('no SMTP greeting within 3 s')));
    socket.once('error', (err) => done(err));
    socket.once('data', (chunk: Buffer) => {
      const line = chunk.toString('latin1');
      done(
        line.startsWith('220') ? undefined : new Error(`unexpected SMTP greeting ${JSON.stringify(line.slice(0, 60))}`),
      );
    });
  });
}

/** Runs `body` with a connected pg client, always ending it. */
export async function withPg<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
