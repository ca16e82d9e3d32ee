/**
 * The servers the project runs itself, built once from the Go module proxy into `.tools/bin` and reused.
 * A machine-wide cache (~/.cache/dbops-tools) lets other clones and CI runs skip the build; it is only ever
 * an optimisation: a miss rebuilds.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PATHS } from './paths';

/** A pinned tool and how to build it. */
interface ToolSpec {
  binary: string;
  module: string;
  version: string;
  ldflags?: string;
}

/**
 * Temporal CLI v1.5.1 is the newest tag without a `replace` directive (so `go install` works); it embeds
 * server 1.29.1 and UI 2.42.1. MinIO publishes RELEASE.* tags that are not semver, so it is pinned by
 * pseudo-version (the 2026-02-12 commit of minio/minio). Mailpit (the SMTP catcher the e-mail notifications
 * are tested against) installs with plain `go install`; the ldflag only sets the version it reports.
 */
export const TOOLS: Readonly<Record<'temporal' | 'minio' | 'mailpit', ToolSpec>> = {
  temporal: {
    binary: 'temporal',
    module: 'github.com/temporalio/cli/cmd/temporal',
    version: 'v1.5.1',
    ldflags: '-X github.com/temporalio/cli/temporalcli.Version=1.5.1',
  },
  minio: { binary: 'minio', module: 'github.com/minio/minio', version: 'v0.0.0-20260212201848-7aac2a2c5b7c' },
  mailpit: {
    binary: 'mailpit',
    module: 'github.com/axllent/mailpit',
    version: 'v1.33.1',
    ldflags: '-X github.com/axllent/mailpit/config.Version=v1.33.1',
  },
};

/** Absolute path of a tool in the project's tools folder. */
export function toolPath(name: keyof typeof TOOLS): string {
  return join(PATHS.toolsBin, TOOLS[name].binary);
}

/** Makes sure the pinned tool is in `.tools/bin`; builds it (minutes) only when needed. */
export function ensureTool(name: keyof typeof TOOLS, say: (line: string) => void): string {
  const spec = TOOLS[name];
  const target = toolPath(name);
  const stamp = `${spec.module}@${spec.version}`;
  if (existsSync(target) && readStamp(target) === stamp) return target;

  mkdirSync(PATHS.toolsBin, { recursive: true });
  const cacheDir = join(PATHS.toolCache, `${spec.binary}@${spec.version}`);
  const cached = join(cacheDir, spec.binary);
  if (!(existsSync(cached) && readStamp(cached) === stamp)) {
    const go = findGo();
    say(`building ${spec.binary} ${spec.version} with ${go} (first time only; a few minutes)…`);
    mkdirSync(cacheDir, { recursive: true });
    const args = ['install', ...(spec.ldflags ? ['-ldflags', spec.ldflags] : []), `${spec.module}@${spec.version}`];
    const result = spawnSync(go, args, {
      env: { ...process.env, GOBIN: cacheDir, GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (result.status !== 0) {
      throw new Error(`go install ${spec.module}@${spec.version} failed (exit ${result.status}); see the output above`);
    }
    writeFileSync(`${cached}.version`, stamp);
  }
  // Copy then rename, so a half-written binary is never left at the final path.
  copyFileSync(cached, `${target}.tmp`);
  renameSync(`${target}.tmp`, target);
  writeFileSync(`${target}.version`, stamp);
  return target;
}

function readStamp(binary: string): string | undefined {
  try {
    return readFileSync(`${binary}.version`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The `go` binary, from PATH or the usual install folder; throws a one-line fix when there is none. */
export function findGo(candidates: readonly string[] = ['go', '/usr/local/go/bin/go']): string {
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ['version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    'Go is not installed (no `go` on PATH or in /usr/local/go/bin): install Go 1.25 or newer ' +
      '(Debian: apt-get install golang-go, or the go.dev tarball) — the stack builds the Temporal CLI, MinIO and Mailpit with it',
  );
}
