/**
 * Decides, from a driver's own error, whether retrying can help (docs/architecture.md, rule 4). The driver's code and
 * message are kept in the text; only the verdict and the advice are ours.
 */
import { DbopsError, ErrorCode } from '../../common/errors';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);

/** Maps a driver error to a DbopsError with advice, or returns undefined when it is not recognised. */
export function classifyDriverError(err: unknown, label: string): DbopsError | undefined {
  if (err instanceof DbopsError) return err;
  if (!(err instanceof Error)) return undefined;
  const code = String((err as { code?: unknown }).code ?? '');
  const message = err.message || code;

  // ioredis reports a server it never reached as MaxRetriesPerRequestError, then "Connection is closed".
  if (
    NETWORK_CODES.has(code) ||
    err.name === 'MaxRetriesPerRequestError' ||
    /connect(ion)? (timeout|timed out|terminated)|Connection is closed|ETIMEDOUT/i.test(message)
  ) {
    return new DbopsError(
      ErrorCode.Unreachable,
      `${label}: cannot connect (${code || message}); is the server running and reachable?`,
      { cause: err },
    );
  }
  // pg-pool found no free client in time: every slot is busy with other activities, a retry will find one.
  if (/timeout exceeded when trying to connect/i.test(message)) {
    return new DbopsError(
      ErrorCode.Unreachable,
      `${label}: no free connection in the worker's pool in time (${message}); retrying (if this repeats, lower the run's concurrency)`,
      { cause: err },
    );
  }
  // PostgreSQL SQLSTATE classes 28 (invalid authorization) and 3D000 (invalid catalog name).
  if (
    code === '28P01' ||
    code === '28000' ||
    code === 'ER_ACCESS_DENIED_ERROR' ||
    /NOAUTH|WRONGPASS|invalid password/i.test(message)
  ) {
    return new DbopsError(
      ErrorCode.AuthFailed,
      `${label}: authentication failed (${code || 'auth'}: ${message}); check the user and the password in the worker environment`,
      { cause: err },
    );
  }
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR') {
    return new DbopsError(
      ErrorCode.DatabaseMissing,
      `${label}: ${message} (${code}); create the database or fix the connection URL`,
      { cause: err },
    );
  }
  return undefined;
}
