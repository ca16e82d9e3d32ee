/**
 * SQLite reads on worker threads. better-sqlite3 is synchronous: minutes of reading on the activity's own
 * thread would freeze the worker's event loop (heartbeats, workflow tasks, other activities). A job's
 * thread script runs the reads; this module starts it, carries its messages with flow control (the thread
 * waits for an acknowledgement before running more than a few messages ahead), and carries errors back
 * with their dbops code. The thread script, not this module, knows what is read.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, Worker } from 'node:worker_threads';
import { DbopsError, type ErrorCodeValue } from '../../common/errors';

/** How a thread reports a failure (an Error does not cross the thread boundary with its class). */
export interface ThreadErrorMessage {
  type: 'error';
  message: string;
  /** A value of the source cannot be converted: bad input, not a fault. */
  rowProblem: boolean;
  code?: string;
  dbops?: boolean;
  retryable?: boolean;
}

/** The last message of a job that returns a value. */
export interface ThreadEndMessage {
  type: 'end';
  result?: unknown;
}

/**
 * The compiled script of a thread: beside the caller when it runs compiled, else under `dist/` (tests run
 * the TypeScript sources; a thread always runs the build). `fromRoot` is the script's path from the
 * repository root without extension, e.g. `activities/migration/source-thread`.
 */
export function threadScript(callerDir: string, fromRoot: string): string {
  const file = `${fromRoot.split('/').pop() ?? fromRoot}.js`;
  const beside = join(callerDir, file);
  if (existsSync(beside)) return beside;
  const depth = fromRoot.split('/').length - 1;
  return join(callerDir, ...Array<string>(depth).fill('..'), 'dist', `${fromRoot}.js`);
}

/** What the parent sends a thread to acknowledge one message (flow control). */
export const ACK = 'ack';

/** Limits of a reading thread: a small young generation (V8 would otherwise grow it to 3×16 MB per thread). */
export const THREAD_LIMITS = { maxYoungGenerationSizeMb: 6 };

/** Starts `script` on a new thread with `job`; `onMessage` gets every message; `done` resolves at exit. */
export function startThread<Job, Message>(
  script: string,
  job: Job,
  onMessage: (message: Message, ack: () => void) => void,
): { done: Promise<void>; stop: () => Promise<void> } {
  const thread = new Worker(script, { workerData: job, resourceLimits: THREAD_LIMITS });
  const done = new Promise<void>((resolve, reject) => {
    thread.on('message', (message: Message) => onMessage(message, () => thread.postMessage(ACK)));
    thread.on('error', reject);
    thread.on('exit', () => resolve());
  });
  return { done, stop: async () => void (await thread.terminate()) };
}

/**
 * Runs a job that ends with one `end` message carrying its result; other messages go to `onMessage`.
 * Stops the thread on `signal`; a thread error is rethrown with its dbops code.
 */
export async function runThreadJob<Message extends { type: string }>(
  script: string,
  job: { op: string },
  onMessage: (message: Message) => void,
  signal?: AbortSignal,
): Promise<unknown> {
  let result: unknown;
  let ended = false;
  let failure: Error | undefined;
  const thread = startThread<typeof job, Message | ThreadEndMessage | ThreadErrorMessage>(script, job, (message) => {
    if (message.type === 'end') {
      result = (message as ThreadEndMessage).result;
      ended = true;
    } else if (message.type === 'error') failure = threadError(message as ThreadErrorMessage);
    else onMessage(message as Message);
  });
  const stop = () => void thread.stop();
  signal?.addEventListener('abort', stop);
  try {
    await thread.done;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  if (signal?.aborted) throw signal.reason;
  if (failure) throw failure;
  if (!ended) throw new Error(`the ${job.op} thread stopped without a result`);
  return result;
}

/** The Error a thread's error message stands for (a DbopsError keeps its code and retryability). */
export function threadError(message: ThreadErrorMessage): Error {
  return message.dbops
    ? new DbopsError(message.code as ErrorCodeValue, message.message, { retryable: message.retryable })
    : Object.assign(new Error(message.message), { code: message.code });
}

/** Thread side: the message that reports `err` to the parent. */
export function threadErrorMessage(err: unknown, rowProblem = false): ThreadErrorMessage {
  const e = err as Error & { code?: unknown };
  return {
    type: 'error',
    message: e.message,
    rowProblem,
    code: typeof e.code === 'string' ? e.code : undefined,
    dbops: err instanceof DbopsError,
    retryable: err instanceof DbopsError ? err.retryable : undefined,
  };
}

/**
 * Thread side: flow control. `take()` resolves once fewer than `ahead` messages are unacknowledged, so a
 * fast reader never runs far ahead of a slow consumer and memory stays bounded. The thread exits only once
 * its script removes the `message` listeners of `parentPort`.
 */
export function acknowledgements(ahead: number): { take: () => Promise<void>; dispose: () => void } {
  let credits = ahead;
  let wake: (() => void) | undefined;
  const listener = (message: unknown): void => {
    if (message !== ACK) return; // a pooled thread's next job is not a credit
    credits += 1;
    wake?.();
  };
  parentPort?.on('message', listener);
  return {
    take: async () => {
      while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
      credits -= 1;
    },
    dispose: () => void parentPort?.off('message', listener),
  };
}
