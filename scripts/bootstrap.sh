#!/usr/bin/env bash
# Makes a fresh clone runnable: checks Node, installs the locked dependencies when they are missing or
# stale, and compiles the TypeScript (incremental). Every npm entry point runs it first; it is cheap when
# nothing changed. Usage: scripts/bootstrap.sh [--quiet]
set -euo pipefail
cd "$(dirname "$0")/.."

quiet=false
[[ "${1:-}" == "--quiet" ]] && quiet=true
say() { $quiet || echo "bootstrap: $*" >&2; }

if ! command -v node >/dev/null 2>&1; then
  echo "bootstrap: Node.js is not installed: install Node 20.19+ (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (!((maj === 20 && min >= 19) || maj >= 22)) {
    console.error(`bootstrap: Node ${process.versions.node} is too old: dbops needs Node 20.19+ (or 22.12+)`);
    process.exit(1);
  }'

# Reinstall when package-lock.json changed since the last install (the stamp lives inside node_modules).
# `npm ci` installs exactly the lock and never rewrites it, so installing leaves the work tree unchanged
# (.ci/run checks that). The lock lists every platform's optional binaries (@rollup/rollup-*, @swc/core-*)
# as npm resolves them; after changing dependencies, commit the lock `npm install` writes.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.dbops-lock.sha256
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sum" ]]; then
  say "installing dependencies (builds better-sqlite3 from source, ~2 min the first time)…"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_sum" >"$stamp"
fi

say "compiling TypeScript…"
npx --no-install tsc -p tsconfig.build.json
node dist/scripts/bundle-workflows.js
