/** COPY … FROM STDIN on a checked-out client (pg-copy-streams), and what its errors mean. */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DbopsError, ErrorCode } from '../../common/errors';
import { qi, qualified } from './identifiers';

/** An open COPY into `schema.table (columns)`: write COPY text to `stream`, `end()` it, await `finished`. */
export function copyInto(
  client: pg.PoolClient,
  schema: string,
  table: string,
  columns: string[],
): { stream: Writable; finished: Promise<unknown>; failure: () => unknown } {
  const stream = client.query(copyFrom(`COPY ${qualified(schema, table)} (${columns.map(qi).join(', ')}) FROM STDIN`));
  const finished = once(stream, 'finish');
  // Awaited by the caller on success; when writing throws first (a dead connection), its rejection must not go unhandled.
  finished.catch(() => undefined);
  // Once PostgreSQL has rejected the COPY (a value it cannot store, a dead backend) the stream must be
  // neither written nor ended: pg-copy-streams would flush into a connection that has moved on and throw
  // outside any promise. The writer asks `failure()` before each write and before ending.
  let error: unknown;
  stream.on('error', (err) => (error ??= err));
  return {
    stream,
    finished,
    failure: () => error ?? (stream.destroyed ? new Error('the COPY stream closed') : undefined),
  };
}

/** A data error PostgreSQL raised while loading (class 22/23) will fail again: make it non-retryable. */
export function describeCopyError(err: unknown, table: string): unknown {
  const e = err as { code?: string; message?: string; where?: string };
  if (typeof e.code === 'string' && /^2[23]/.test(e.code)) {
    return new DbopsError(
      ErrorCode.BadInput,
      `${table}: PostgreSQL rejected a value (${e.code}: ${e.message}${e.where ? `; ${e.where}` : ''})`,
      { cause: err },
    );
  }
  return err;
}
