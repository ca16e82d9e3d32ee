/**
 * Credentials are bound to their hosts, end to end through a real worker: a server an input names (here a
 * local listener that speaks just enough of each protocol to ask for a password) never receives the
 * worker's blanket PGPASSWORD or REDISCLI_AUTH; it receives a password only when a host-keyed credential
 * file has a line for exactly that host. And a secret written in libpq keyword form is masked everywhere
 * it is echoed: CLI output, the workflow failure, the history beyond the input itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionCheckResult } from '../../common/contracts/check';
import { summarizeFailure } from '../../scripts/cli/output';
import { parseJson, runDbops } from '../support/cli';
import { TestTemporal, testEnv } from '../support/temporal';

const LEAK = 'hunter2-worker-wide';

/** A listener on a free local port; every byte any client sends is kept in `received`. */
async function listen(onConnection: (socket: Socket, received: Buffer[]) => void) {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    onConnection(socket, received);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    text: () => Buffer.concat(received).toString('latin1'),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** Answers a PostgreSQL startup message with "send your password in clear text" (AuthenticationCleartextPassword). */
function askForCleartextPassword(socket: Socket): void {
  socket.once('data', () => {
    const request = Buffer.alloc(9);
    request.write('R', 0, 'latin1');
    request.writeInt32BE(8, 1);
    request.writeInt32BE(3, 5);
    socket.write(request);
    // Whatever comes next (a password message, or nothing), end the session after it.
    socket.once('data', () => socket.end());
  });
}

/** Every string in a history fragment, payload bytes decoded as UTF-8 (they are JSON-encoded values). */
function readable(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(readable).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(readable).join('\n');
  return '';
}

describe('credentials bound to their hosts', () => {
  let t: TestTemporal;
  const dir = mkdtempSync(join(tmpdir(), 'dbops-cred-'));
  const saved = {
    PGPASSWORD: process.env.PGPASSWORD,
    REDISCLI_AUTH: process.env.REDISCLI_AUTH,
    PGPASSFILE: process.env.PGPASSFILE,
  };

  beforeAll(async () => {
    t = await TestTemporal.connect();
    // The worker (in this process) has blanket passwords, as a careless deployment would.
    process.env.PGPASSWORD = LEAK;
    process.env.REDISCLI_AUTH = LEAK;
  });
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await t.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const check = (target: string) =>
    t.withWorker(
      () =>
        t.client.workflow.execute('connectionCheck', {
          workflowId: t.workflowId('cred'),
          taskQueue: t.taskQueue,
          args: [{ targets: [target] }],
        }) as Promise<ConnectionCheckResult>,
    );

  it('a PostgreSQL server named in an input that asks for a password receives nothing, and the check says why', async () => {
    process.env.PGPASSFILE = join(dir, 'none');
    const server = await listen((socket) => askForCleartextPassword(socket));
    try {
      const result = await check(`postgres://root@127.0.0.1:${server.port}/app`);
      expect(result.targets[0]).toMatchObject({ ok: false, error: { code: 'DBOPS_AUTH_FAILED' } });
      expect(result.targets[0]?.error?.message).toContain('asks for a password and none is configured for that host');
      expect(server.text()).toContain('user\0root\0');
      expect(server.text()).not.toContain(LEAK);
      expect(server.text()).not.toMatch(/p\0\0\0/); // no PasswordMessage at all
    } finally {
      await server.close();
    }
  });

  it('the same server gets the password a credential file binds to its host and port, and only that one', async () => {
    const server = await listen((socket) => askForCleartextPassword(socket));
    const passfile = join(dir, 'pgpass');
    writeFileSync(passfile, `127.0.0.1:${server.port}:app:root:bound-to-this-host\n`, { mode: 0o600 });
    process.env.PGPASSFILE = passfile;
    try {
      await check(`postgres://root@127.0.0.1:${server.port}/app`);
      expect(server.text()).toContain('bound-to-this-host');
      expect(server.text()).not.toContain(LEAK);
    } finally {
      await server.close();
    }
  });

  it('a Redis server named in an input is never sent AUTH with the worker-wide REDISCLI_AUTH', async () => {
    // Answers every command (RESP arrays, several may share a packet) with +OK, so the check completes.
    const server = await listen((socket) =>
      socket.on('data', (chunk: Buffer) => {
        const commands = chunk.toString('latin1').match(/(?:^|\r\n)\*\d+\r\n/g)?.length ?? 0;
        socket.write('+OK\r\n'.repeat(commands));
      }),
    );
    try {
      const result = await check(`redis://127.0.0.1:${server.port}`);
      expect(result.targets[0]?.target).toBe(`redis://127.0.0.1:${server.port}`);
      expect(server.text()).not.toContain(LEAK);
      expect(server.text().toUpperCase()).not.toContain('AUTH');
    } finally {
      await server.close();
    }
  });

  it('a libpq keyword secret is masked in CLI output, in the workflow failure and in the history beyond the input', async () => {
    const keyword = 'host=db.internal dbname=app password=kw-secret-123';
    const cli = await runDbops(['check', keyword, '--wait', '--json'], testEnv(t.taskQueue));
    expect(cli.code).toBe(2);
    expect(parseJson<{ error: { type: string } }>(cli).error.type).toBe('DBOPS_SECRET_IN_INPUT');
    expect(cli.stdout + cli.stderr).not.toContain('kw-secret-123');

    const id = t.workflowId('cred-keyword');
    const error = await t.withWorker(() =>
      t.client.workflow
        .execute('connectionCheck', { workflowId: id, taskQueue: t.taskQueue, args: [{ targets: [keyword] }] })
        .catch((err: unknown) => err),
    );
    const failure = summarizeFailure(error);
    expect(failure.type).toBe('DBOPS_SECRET_IN_INPUT');
    expect(failure.message).toContain('password=***');
    expect(failure.message).not.toContain('kw-secret-123');
    const history = await t.client.workflow.getHandle(id).fetchHistory();
    const afterInput = readable(history.events?.slice(1) ?? []);
    expect(afterInput).toContain('password=***'); // the failure is there, masked
    expect(afterInput).not.toContain('kw-secret-123');
  });
});
