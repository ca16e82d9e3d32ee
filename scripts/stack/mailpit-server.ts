/**
 * The Mailpit server of the local stack: an SMTP server that keeps every message it receives, with a web UI
 * and a REST API, so e-mail notifications can be sent and read back locally. Loopback only; SMTP takes any
 * credentials (or none) without TLS, like a development relay. Messages live in a SQLite file in the
 * stack's state folder.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LOCAL_MAILPIT } from '../../config/defaults';
import { PATHS } from './paths';
import { portOpen, runningPid, startDetached, waitForPort } from './processes';
import { ensureTool } from './tools';

const DATABASE = join(PATHS.state, 'mailpit', 'mailpit.db');
const API_PORT = Number(new URL(LOCAL_MAILPIT.apiUrl).port);

/** Addresses of the local Mailpit, as the summary prints them. */
export const MAILPIT = {
  smtp: `${LOCAL_MAILPIT.smtpHost}:${LOCAL_MAILPIT.smtpPort}`,
  ui: LOCAL_MAILPIT.apiUrl,
} as const;

/** Starts Mailpit unless one is running (ours, or another on the same ports); pid null = not ours. */
export async function startMailpit(say: (line: string) => void): Promise<{ started: boolean; pid: number | null }> {
  const binary = ensureTool('mailpit', say);
  const existing = runningPid('mailpit');
  if (existing !== undefined) return { started: false, pid: existing };
  const [smtpOpen, apiOpen] = await Promise.all([
    portOpen(LOCAL_MAILPIT.smtpHost, LOCAL_MAILPIT.smtpPort),
    portOpen(LOCAL_MAILPIT.smtpHost, API_PORT),
  ]);
  if (smtpOpen || apiOpen) {
    say(
      `Mailpit: ${smtpOpen ? MAILPIT.smtp : MAILPIT.ui} is already served by a process this checkout did not start; using it`,
    );
    return { started: false, pid: null };
  }
  mkdirSync(dirname(DATABASE), { recursive: true });
  // Mailpit also reads MP_* variables (UI auth, relaying…); the caller's shell must not change what the stack runs.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MP_')));
  const proc = startDetached(
    'mailpit',
    binary,
    [
      '--database',
      DATABASE,
      '--smtp',
      MAILPIT.smtp,
      '--listen',
      `${LOCAL_MAILPIT.smtpHost}:${API_PORT}`,
      '--smtp-auth-accept-any',
      '--smtp-auth-allow-insecure',
      '--smtp-disable-rdns',
      '--disable-version-check',
      '--quiet',
    ],
    env,
  );
  await waitForReady(proc.log);
  await waitForPort(LOCAL_MAILPIT.smtpHost, LOCAL_MAILPIT.smtpPort, 30_000, 'Mailpit SMTP', proc.log);
  return { started: true, pid: proc.pid };
}

/** Polls Mailpit's readiness endpoint (200 once its database answers). */
async function waitForReady(log: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${LOCAL_MAILPIT.apiUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await delay(250);
  }
  throw new Error(`Mailpit did not become ready within 30 s; see ${log}`);
}
