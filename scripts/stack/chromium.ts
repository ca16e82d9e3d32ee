/**
 * The browser the Web UI tests drive: the machine's Chromium (Debian package `chromium`), installed with
 * apt-get when it is missing, as the stack builds Temporal and MinIO when they are missing.
 * `DBOPS_CHROMIUM` points at another Chromium-based browser.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The first Chromium found (the `DBOPS_CHROMIUM` override first), or undefined. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = env.DBOPS_CHROMIUM;
  if (override) {
    if (!existsSync(override)) throw new Error(`DBOPS_CHROMIUM=${override} does not exist: unset it or fix the path`);
    return override;
  }
  return CANDIDATES.find((path) => existsSync(path));
}

/** Chromium's path; installs Debian's `chromium` package first when there is none (minutes, once). */
export function ensureChromium(say: (line: string) => void): string {
  const found = findChromium();
  if (found) return found;
  const root = process.getuid?.() === 0;
  const sudo = root ? [] : ['sudo', '-n'];
  const apt = (...args: string[]): boolean => {
    const [command, ...rest] = [...sudo, 'apt-get', ...args];
    const result = spawnSync(command as string, rest, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    return result.status === 0;
  };
  say('installing Chromium for the Web UI tests (apt-get install chromium; first time only)…');
  // A fresh machine may have no package lists yet: update once, then retry.
  const installed =
    apt('install', '-y', '--no-install-recommends', 'chromium') ||
    (apt('update') && apt('install', '-y', '--no-install-recommends', 'chromium'));
  const path = findChromium();
  if (!installed || !path) {
    throw new Error(
      'Chromium is missing and could not be installed: run `sudo apt-get install chromium` ' +
        '(or set DBOPS_CHROMIUM to a Chromium-based browser), then run the browser tests again',
    );
  }
  return path;
}
