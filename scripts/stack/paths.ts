/** Where the local stack keeps its tools, state, pid files and logs (all git-ignored, under the repo). */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the dbops folder (package.json) above ${start}`);
    dir = parent;
  }
  return dir;
}

/** The repository root. */
export const ROOT = findRoot(__dirname);

/** Folder layout of the local stack. */
export const PATHS = {
  root: ROOT,
  toolsBin: join(ROOT, '.tools', 'bin'),
  state: join(ROOT, '.dbops'),
  run: join(ROOT, '.dbops', 'run'),
  logs: join(ROOT, '.dbops', 'logs'),
  temporalDb: join(ROOT, '.dbops', 'temporal', 'temporal.db'),
  minioData: join(ROOT, '.dbops', 'minio'),
  workerEntry: join(ROOT, 'dist', 'workers', 'main.js'),
  /**
   * How the worker is run, to keep its resident memory down (measured by bench:migrate): a small young
   * generation, and two malloc arenas (each thread — the migration's SQLite threads — would get its own).
   * The AWS SDK's Node-version warning is about client releases after January 2027, which the pinned
   * client-s3 is not; it would land in every worker log.
   */
  workerNodeFlags: ['--max-semi-space-size=2'],
  workerEnv: { MALLOC_ARENA_MAX: '2', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  buildInfo: join(ROOT, 'dist', '.tsbuildinfo'),
  /** Machine-wide cache of built tools, shared by clones and CI runs; never required. */
  toolCache: join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'dbops-tools'),
} as const;
