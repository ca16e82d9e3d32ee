/** `pg_dump` runs: the password goes to the child in PGPASSWORD, never in argv (visible to `ps`). */
import { spawn } from 'node:child_process';

/** `pg_dump -Fc -n <schema>` into `path`; the password travels in PGPASSWORD, never in argv. */
export async function dumpSchema(targetUrl: string, schema: string, path: string): Promise<void> {
  const url = new URL(targetUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}) };
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
