/**
 * Runs the command-line tools backups depend on (pg_dump, pg_restore, mariadb-dump, redis-server…): stderr
 * is collected for the error message, a missing binary becomes a typed, non-retryable error naming the
 * tool and the package that provides it, and a cancelled activity kills the child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { DbopsError, ErrorCode } from '../../common/errors';
import { redactSecrets } from '../../common/secret-guard';

/** How to start a tool. */
export interface ToolOptions {
  env?: NodeJS.ProcessEnv;
  /** Kills the child (SIGTERM) when aborted. */
  signal?: AbortSignal;
  /** Where stdin comes from: nothing, or a stream piped in. */
  stdin?: Readable;
  /** `pipe` exposes stdout as a stream; `ignore` discards it. Default `ignore`. */
  stdout?: 'pipe' | 'ignore';
  /** What to call the tool in messages when argv[0] is not enough (e.g. `pg_restore of mydb.dump`). */
  label?: string;
  /** Package to install when the binary is missing, for the error message. */
  installHint?: string;
}

/** A started tool: its stdout (when piped) and a promise of its end. */
export interface RunningTool {
  child: ChildProcess;
  stdout: Readable | null;
  /** Resolves when the tool exits 0; rejects with its stderr otherwise. */
  done: Promise<void>;
}

const MAX_STDERR = 64 * 1024;

/** Starts `command args…`. The caller must await `done` (and consume stdout when piped). */
export function startTool(command: string, args: readonly string[], options: ToolOptions = {}): RunningTool {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: [options.stdin ? 'pipe' : 'ignore', options.stdout ?? 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < MAX_STDERR) stderr += chunk.toString();
  });
  if (options.stdin && child.stdin) {
    const input = child.stdin as Writable;
    // A tool that exits early closes its stdin: that is reported through its exit code, not as EPIPE.
    input.on('error', () => undefined);
    options.stdin.on('error', (err) => child.kill('SIGTERM') && (stderr += `\ninput failed: ${err.message}`));
    options.stdin.pipe(input);
  }
  const onAbort = (): void => {
    child.kill('SIGTERM');
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const label = options.label ?? command;
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        reject(
          new DbopsError(
            ErrorCode.ToolMissing,
            `${command} is not installed on the worker's host (not found on PATH)${options.installHint ? `: install ${options.installHint}` : ''}`,
          ),
        );
      } else reject(err);
    });
    child.once('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (code === 0) resolve();
      else {
        const why = signal ? `killed by ${signal}` : `exit ${code}`;
        reject(new Error(redactSecrets(`${label} failed (${why}): ${stderr.trim() || 'no output on stderr'}`)));
      }
    });
  });
  return { child, stdout: child.stdout, done };
}

/** Runs a tool to completion, discarding stdout. */
export async function runTool(command: string, args: readonly string[], options: ToolOptions = {}): Promise<void> {
  await startTool(command, args, { ...options, stdout: 'ignore' }).done;
}

/** Runs a tool and returns its stdout as text (for small outputs such as `--version`). */
export async function toolOutput(command: string, args: readonly string[], options: ToolOptions = {}): Promise<string> {
  const running = startTool(command, args, { ...options, stdout: 'pipe' });
  let out = '';
  running.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await running.done;
  return out;
}
