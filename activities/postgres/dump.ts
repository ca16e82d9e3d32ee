/**
 * `pg_dump` runs. The password goes to the child in PGPASSWORD, never in argv (visible to `ps`), and only
 * the password bound to this target: the worker's own PGPASSWORD/PGPASSFILE are not passed on.
 */
import { spawn } from 'node:child_process';

/** The environment of a libpq tool talking to one server: exactly `password`, or none. */
export function libpqEnv(password: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PGPASSFILE: '/dev/null' };
  delete env.PGPASSWORD;
  if (password !== undefined) env.PGPASSWORD = password;
  return env;
}

/** `pg_dump -Fc -n <schema>` into `path`. */
export async function dumpSchema(
  target: { url: string; password?: string },
  schema: string,
  path: string,
): Promise<void> {
  const url = new URL(target.url);
  url.password = '';
  const env = libpqEnv(target.password);
  const stderr: string[] = [];
  const child = spawn(
    'pg_dump',
    ['--format=custom', `--schema=${schema}`, `--file=${path}`, `--dbname=${url.toString()}`],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`pg_dump of schema ${schema} failed (exit ${code}): ${stderr.join('').trim()}`);
}
