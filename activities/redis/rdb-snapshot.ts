/**
 * Takes an RDB snapshot of a remote Redis server the way `redis-cli --rdb` does: it connects as a replica
 * would, asks for a full synchronisation (`SYNC`) and writes the RDB payload the primary streams back to a
 * local file. No access to the server's disk is needed, and the snapshot is a consistent fork-time image.
 *
 * ioredis cannot speak this part of the protocol (its parser rejects the bare `\n` keep-alives the primary
 * sends while it forks and writes), so this module talks RESP over a plain socket. The payload goes straight
 * to disk through writeHashed (constant memory, `.part` file, fsync, SHA-256 on the way).
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { DbopsError, ErrorCode } from '../../common/errors';
import { classifyDriverError } from '../connections/classify-error';
import { writeHashed } from '../files/hashed-write';

/** Where to take the snapshot from: a `redis://` or `rediss://` URL (no password in it) and the password. */
export interface RedisSnapshotSource {
  url: string;
  password?: string;
}

/** Options of {@link snapshotRdb}. */
export interface SnapshotRdbOptions {
  /** Destroys the connection and removes the partial file when aborted. */
  signal?: AbortSignal;
  /** Called with the bytes written so far, about once a second. */
  onBytes?: (bytes: number) => void;
  /** Fail when the server sends nothing (not even a keep-alive) for this long. Default 60 s. */
  timeoutMs?: number;
}

/** A snapshot written to disk. */
export interface RdbSnapshot {
  path: string;
  bytes: number;
  sha256: string;
  /** RDB format version from the payload's header (`REDIS0010` → 10). */
  rdbVersion: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const EOF_MARK_BYTES = 40;
const MAX_LINE_BYTES = 64 * 1024;

interface Endpoint {
  tls: boolean;
  host: string;
  port: number;
  username?: string;
  /** A password written in the URL itself; the explicit one wins. */
  urlPassword?: string;
  /** Safe to show: scheme, user, host and port, never a password. */
  label: string;
}

/** Streams a full RDB snapshot of `server` into `path` via the replication handshake (like `redis-cli --rdb`). */
export async function snapshotRdb(
  server: RedisSnapshotSource,
  path: string,
  options: SnapshotRdbOptions = {},
): Promise<RdbSnapshot> {
  const endpoint = parseEndpoint(server.url);
  const { label } = endpoint;
  const password = server.password ?? endpoint.urlPassword;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  options.signal?.throwIfAborted();

  const socket = openSocket(endpoint, timeoutMs);
  const onAbort = (): void => {
    socket.destroy(new Error('snapshot aborted'));
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  // Failures reach us through the reader's iterator; this keeps a late one from becoming an uncaught 'error'.
  socket.on('error', () => undefined);
  socket.on('timeout', () =>
    socket.destroy(
      new DbopsError(
        ErrorCode.Unreachable,
        `${label}: no data from the server for ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`} during the RDB snapshot; retrying (if this repeats, check the network and the server's load)`,
      ),
    ),
  );
  try {
    const reader = new ReplyReader(socket);
    await handshake(socket, reader, endpoint, password);
    const payload = await reader.readPayloadHeader(label);
    let rdbVersion = 0;
    const source = Readable.from(
      streamPayload(reader, payload, label, (header) => {
        rdbVersion = parseRdbHeader(header, label);
      }),
      { objectMode: false, highWaterMark: 1024 * 1024 },
    );
    const file = await writeHashed(source, path, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onBytes ? { onBytes: options.onBytes } : {}),
    });
    return { ...file, rdbVersion };
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason ?? err;
    throw asSnapshotError(err, label);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}

/** Parses `redis://[user@]host[:port][/db]` or `rediss://…`; the db number does not matter for a snapshot. */
function parseEndpoint(url: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DbopsError(ErrorCode.BadInput, `"${redactUrl(url)}" is not a Redis URL (expected redis://host:port)`);
  }
  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase();
  if (scheme !== 'redis' && scheme !== 'rediss') {
    throw new DbopsError(
      ErrorCode.BadInput,
      `"${redactUrl(url)}" is not a Redis URL: an RDB snapshot needs redis://host:port or rediss://host:port`,
    );
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = parsed.port ? Number(parsed.port) : 6379;
  const username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const urlPassword = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  const hostPart = isIP(host) === 6 ? `[${host}]` : host;
  const label = `Redis server ${scheme}://${parsed.username ? `${parsed.username}@` : ''}${hostPart}:${port}`;
  return {
    tls: scheme === 'rediss',
    host,
    port,
    label,
    ...(username !== undefined ? { username } : {}),
    ...(urlPassword !== undefined ? { urlPassword } : {}),
  };
}

/** The URL with any user-info password masked, for messages about a URL that does not parse. */
function redactUrl(url: string): string {
  return url.replace(/^([^:/?#]+:\/\/[^/?#@:]*):[^/?#@]*@/, '$1:***@');
}

function openSocket(endpoint: Endpoint, timeoutMs: number): Socket {
  if (endpoint.tls) {
    return tlsConnect({
      host: endpoint.host,
      port: endpoint.port,
      timeout: timeoutMs,
      ...(isIP(endpoint.host) === 0 ? { servername: endpoint.host } : {}),
    });
  }
  return netConnect({ host: endpoint.host, port: endpoint.port, timeout: timeoutMs });
}

/** One RESP array of bulk strings. */
function encodeCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  return Buffer.from(parts.join(''));
}

/** A server's `-ERR …` reply; kept apart from socket errors so each gets its own advice. */
class ErrorReply extends Error {
  constructor(
    readonly command: string,
    readonly reply: string,
  ) {
    super(reply);
  }
}

/**
 * The server broke the protocol: it hung up mid-way (`retryable`: a new attempt may get through) or sent
 * something that is not a replication reply (not retryable: it will do so again).
 */
class ProtocolError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** How the primary frames the RDB payload after `SYNC`. */
type PayloadFraming = { kind: 'length'; bytes: number } | { kind: 'eof-mark'; mark: Buffer };

/**
 * Reads replies and then the payload off the socket. Data is pulled through the socket's async iterator, so
 * the socket is paused whenever nobody is reading (backpressure from the file down to the TCP window).
 */
class ReplyReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);

  constructor(socket: Socket) {
    this.chunks = (socket as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** The next chunk: what is buffered first, then what the socket delivers; undefined at end of stream. */
  async next(): Promise<Buffer | undefined> {
    if (this.pending.length > 0) {
      const chunk = this.pending;
      this.pending = Buffer.alloc(0);
      return chunk;
    }
    const result = await this.chunks.next();
    return result.done ? undefined : result.value;
  }

  /** Stops reading: the socket is destroyed by the iterator. */
  async close(): Promise<void> {
    await this.chunks.return?.();
  }

  /** One `\r\n`-terminated line, skipping the bare `\n` keep-alives a primary sends before its reply. */
  async readLine(): Promise<string> {
    let buffered = this.pending;
    this.pending = Buffer.alloc(0);
    for (;;) {
      let start = 0;
      while (start < buffered.length && buffered[start] === 0x0a) start++;
      buffered = buffered.subarray(start);
      const end = buffered.indexOf('\r\n');
      if (end >= 0) {
        this.pending = buffered.subarray(end + 2);
        return buffered.toString('latin1', 0, end);
      }
      if (buffered.length > MAX_LINE_BYTES)
        throw new ProtocolError('the server sent a reply line longer than 64 KiB', false);
      const result = await this.chunks.next();
      if (result.done) throw new ProtocolError('the server closed the connection before answering', true);
      buffered = buffered.length === 0 ? result.value : Buffer.concat([buffered, result.value]);
    }
  }

  /** Sends a command and reads its one-line reply; an error reply throws {@link ErrorReply}. */
  async command(socket: Socket, args: readonly string[]): Promise<string> {
    socket.write(encodeCommand(args));
    const line = await this.readLine();
    const name = args.slice(0, args[0] === 'REPLCONF' ? 2 : 1).join(' ');
    if (line.startsWith('-')) throw new ErrorReply(name, line.slice(1));
    return line;
  }

  /** Reads the `$<len>` or `$EOF:<mark>` line that starts the payload after `SYNC`. */
  async readPayloadHeader(label: string): Promise<PayloadFraming> {
    const line = await this.readLine();
    if (line.startsWith('-')) throw new ErrorReply('SYNC', line.slice(1));
    if (line.startsWith('$EOF:')) {
      const mark = Buffer.from(line.slice(5), 'latin1');
      if (mark.length !== EOF_MARK_BYTES)
        throw new ProtocolError(`${label} sent a malformed EOF mark after SYNC`, false);
      return { kind: 'eof-mark', mark };
    }
    const bytes = /^\$(\d+)$/.exec(line)?.[1];
    if (bytes === undefined) {
      throw new ProtocolError(`${label} answered SYNC with "${line.slice(0, 80)}" instead of an RDB payload`, false);
    }
    return { kind: 'length', bytes: Number(bytes) };
  }
}

/** AUTH (when there is a password), PING and the replica capabilities; any refusal throws {@link ErrorReply}. */
async function handshake(socket: Socket, reader: ReplyReader, endpoint: Endpoint, password?: string): Promise<void> {
  if (password !== undefined) {
    const args = endpoint.username ? ['AUTH', endpoint.username, password] : ['AUTH', password];
    try {
      await reader.command(socket, args);
    } catch (err) {
      // A server without a password answers AUTH <password> with an error but serves us anyway.
      if (!(err instanceof ErrorReply && /without any password configured/i.test(err.reply))) throw err;
    }
  }
  await reader.command(socket, ['PING']);
  await reader.command(socket, ['REPLCONF', 'capa', 'eof']);
  try {
    // Redis 7+: send the RDB only, no replication stream after it. Older servers do not know it.
    await reader.command(socket, ['REPLCONF', 'rdb-only', '1']);
  } catch (err) {
    if (!(err instanceof ErrorReply) || /^NOAUTH/.test(err.reply)) throw err;
  }
  socket.write(encodeCommand(['SYNC']));
}

/**
 * Yields the RDB payload's bytes and nothing else: exactly `bytes` of them for a disk-based transfer, or up
 * to (not including) the 40-byte EOF mark for a diskless one. The first 9 bytes go to `onHeader`.
 */
async function* streamPayload(
  reader: ReplyReader,
  framing: PayloadFraming,
  label: string,
  onHeader: (header: Buffer) => void,
): AsyncGenerator<Buffer> {
  let header: Buffer | undefined = Buffer.alloc(0);
  const seeHeader = (chunk: Buffer): void => {
    if (header === undefined) return;
    header = Buffer.concat([header, chunk.subarray(0, 9 - header.length)]);
    if (header.length === 9) {
      onHeader(header);
      header = undefined;
    }
  };
  const ended = (received: number, expected: string): Error =>
    new ProtocolError(`${label} closed the connection after ${received} bytes of the RDB payload (${expected})`, true);

  let received = 0;
  try {
    if (framing.kind === 'length') {
      while (received < framing.bytes) {
        const chunk = await reader.next();
        if (chunk === undefined) throw ended(received, `expected ${framing.bytes}`);
        const part = chunk.length > framing.bytes - received ? chunk.subarray(0, framing.bytes - received) : chunk;
        received += part.length;
        seeHeader(part);
        yield part;
      }
    } else {
      // The last 40 bytes seen are held back until more data shows they are not the mark.
      const { mark } = framing;
      let tail = Buffer.alloc(0);
      for (;;) {
        const chunk = await reader.next();
        if (chunk === undefined) throw ended(received, 'no EOF mark');
        const window = tail.length + chunk.length <= 2 * EOF_MARK_BYTES ? Buffer.concat([tail, chunk]) : undefined;
        // Where the mark starts in tail+chunk, searched without copying a large chunk.
        let at = -1;
        if (window) at = window.indexOf(mark);
        else {
          const seam = Buffer.concat([tail, chunk.subarray(0, EOF_MARK_BYTES - 1)]).indexOf(mark);
          if (seam >= 0) at = seam;
          else {
            const inside = chunk.indexOf(mark);
            if (inside >= 0) at = tail.length + inside;
          }
        }
        const total = tail.length + chunk.length;
        const keep = at >= 0 ? at : Math.max(0, total - EOF_MARK_BYTES);
        // Emit tail+chunk up to `keep`, without concatenating the big chunk.
        const fromTail = tail.subarray(0, Math.min(keep, tail.length));
        const fromChunk = chunk.subarray(0, Math.max(0, keep - tail.length));
        for (const part of [fromTail, fromChunk]) {
          if (part.length === 0) continue;
          received += part.length;
          seeHeader(part);
          yield part;
        }
        if (at >= 0) break;
        // Copies at most 40 bytes: when no window was built, `keep` lies inside the chunk.
        tail = Buffer.from(window ? window.subarray(keep) : chunk.subarray(keep - tail.length));
      }
    }
  } finally {
    await reader.close();
  }
  if (header !== undefined) throw new ProtocolError(`${label} sent an RDB payload of only ${received} bytes`, false);
}

/** The format version from `REDIS0010`; anything else is not an RDB payload. */
function parseRdbHeader(header: Buffer, label: string): number {
  const text = header.toString('latin1');
  const match = /^REDIS(\d{4})$/.exec(text);
  if (!match) {
    throw new DbopsError(
      ErrorCode.BackupCorrupt,
      `${label} sent a replication payload that is not an RDB file (it starts with ${JSON.stringify(text)}); the server may use a format dbops cannot read`,
    );
  }
  return Number(match[1]);
}

/** Turns a refusal or a socket failure into a DbopsError naming the server and the fix. */
function asSnapshotError(err: unknown, label: string): unknown {
  if (err instanceof DbopsError) return err;
  if (err instanceof ErrorReply) return fromErrorReply(err, label);
  const classified = classifyDriverError(err, label);
  if (classified) return classified;
  if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOTFOUND') {
    return new DbopsError(ErrorCode.Unreachable, `${label}: host not found (ENOTFOUND); check the host name`, {
      cause: err,
    });
  }
  if (err instanceof ProtocolError) {
    const message = err.message.startsWith(label) ? err.message : `${label}: ${err.message}`;
    return err.retryable
      ? new DbopsError(ErrorCode.Unreachable, `${message}; retrying`, { cause: err })
      : new DbopsError(
          ErrorCode.BadInput,
          `${message}; is this a Redis server (or a proxy that does not pass replication through)?`,
          { cause: err },
        );
  }
  return err;
}

function fromErrorReply(err: ErrorReply, label: string): DbopsError {
  const reply = err.reply.slice(0, 300);
  const code = reply.split(' ', 1)[0] ?? '';
  if (code === 'NOAUTH') {
    return new DbopsError(
      ErrorCode.AuthFailed,
      `${label} requires a password and none was given (${reply}); configure the password for this connection on the worker`,
      { cause: err },
    );
  }
  if (code === 'WRONGPASS' || (err.command === 'AUTH' && /invalid (password|username)/i.test(reply))) {
    return new DbopsError(
      ErrorCode.AuthFailed,
      `${label} rejected the credentials (${code || 'AUTH'}); check the user and the password configured for this connection on the worker`,
      { cause: err },
    );
  }
  if (code === 'LOADING' || code === 'BUSY' || code === 'MASTERDOWN') {
    return new DbopsError(ErrorCode.Unreachable, `${label} is not ready (${reply}); retrying`, { cause: err });
  }
  if (err.command === 'SYNC' || err.command.startsWith('REPLCONF') || code === 'NOPERM') {
    return new DbopsError(
      ErrorCode.BadInput,
      `${label} refused ${err.command} (${reply}): it does not allow replication, which an RDB snapshot needs. ` +
        'Managed services (ElastiCache, Azure Cache, Memorystore…) block SYNC: use their own backup feature instead; ' +
        'on your own server give the ACL user +sync +psync +replconf (and do not rename or disable SYNC)',
      { cause: err },
    );
  }
  return new DbopsError(ErrorCode.BadInput, `${label} refused ${err.command}: ${reply}`, { cause: err });
}
