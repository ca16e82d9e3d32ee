/** Background processes of the stack: started detached with a log file and a pid file, stopped by pid. */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PATHS } from './paths';

/** A process the stack manages. */
export interface ManagedProcess {
  name: string;
  pid: number;
  log: string;
}

/** The pid recorded for `name`, if that process is still alive. */
export function runningPid(name: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile(name), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Starts a detached process whose stdout and stderr go to `.dbops/logs/<name>.log`. */
export function startDetached(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): ManagedProcess {
  mkdirSync(PATHS.run, { recursive: true });
  mkdirSync(PATHS.logs, { recursive: true });
  const log = logFile(name);
  const fd = openSync(log, 'a');
  try {
    const child = spawn(command, args, { cwd: PATHS.root, env, detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    writeFileSync(pidFile(name), `${child.pid}\n`);
    return { name, pid: child.pid, log };
  } finally {
    closeSync(fd);
  }
}

/** Stops a managed process: SIGTERM, then SIGKILL after `graceMs`. Returns false if it was not running. */
export async function stopProcess(name: string, graceMs = 40_000): Promise<boolean> {
  const pid = runningPid(name);
  rmSync(pidFile(name), { force: true });
  if (pid === undefined) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await delay(200);
  }
  process.kill(pid, 'SIGKILL');
  return true;
}

/** Resolves once something accepts TCP connections on host:port, or throws after `timeoutMs`. */
export async function waitForPort(
  host: string,
  port: number,
  timeoutMs: number,
  what: string,
  log?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(host, port)) return;
    await delay(250);
  }
  throw new Error(
    `${what} did not start listening on ${host}:${port} within ${timeoutMs / 1000} s${log ? `; see ${log}` : ''}`,
  );
}

/** True when a TCP connection to host:port succeeds within a second. */
export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Path of the log file of a managed process. */
export function logFile(name: string): string {
  return join(PATHS.logs, `${name}.log`);
}

function pidFile(name: string): string {
  return join(PATHS.run, `${name}.pid`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
