/** Runs the real `dbops` binary (bin/dbops.js → dist/) as a subprocess, as an operator would. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PATHS } from '../../scripts/stack/paths';

/** What a CLI run printed and how it exited. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dbops <args>` with the given extra environment; never throws on a non-zero exit. */
export function runDbops(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(PATHS.root, 'bin', 'dbops.js'), ...args],
      { cwd: PATHS.root, env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      },
    );
  });
}

/** Parses stdout as exactly one JSON value (fails the test if anything else was printed there). */
export function parseJson<T = Record<string, unknown>>(run: CliRun): T {
  return JSON.parse(run.stdout) as T;
}
