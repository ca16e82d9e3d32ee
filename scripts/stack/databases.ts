/**
 * The database servers the machine provides. The stack does not install them; where one is installed but
 * down it starts it with the machine's documented command, otherwise it says what is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { portOpen, waitForPort } from './processes';

/** One database server the tests and the demo need. */
export interface DatabaseServer {
  name: string;
  port: number;
  /** Present when the server is installed on this machine. */
  installedAt: () => string | undefined;
  /** The machine's documented start command. */
  start: string;
  install: string;
}

/** PostgreSQL, MariaDB and Redis as Debian installs them. */
export const DATABASES: readonly DatabaseServer[] = [
  {
    name: 'PostgreSQL',
    port: 5432,
    installedAt: () => firstExisting(['/usr/bin/pg_ctlcluster']),
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    install: 'apt-get install -y postgresql',
  },
  {
    name: 'MariaDB',
    port: 3306,
    installedAt: () => firstExisting(['/usr/sbin/mariadbd']),
    start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
    install: 'apt-get install -y mariadb-server',
  },
  {
    name: 'Redis',
    port: 6379,
    installedAt: () => firstExisting(['/usr/bin/redis-server', '/usr/local/bin/redis-server']),
    start:
      'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
    install: 'apt-get install -y redis-server',
  },
];

/** Outcome of making sure one server is up. */
export interface DatabaseState {
  name: string;
  address: string;
  up: boolean;
  started: boolean;
  problem?: string;
}

/** Checks each server, starting the installed-but-down ones. Never throws; problems are in the result. */
export async function ensureDatabases(): Promise<DatabaseState[]> {
  const states: DatabaseState[] = [];
  for (const db of DATABASES) {
    const address = `127.0.0.1:${db.port}`;
    if (await portOpen('127.0.0.1', db.port)) {
      states.push({ name: db.name, address, up: true, started: false });
      continue;
    }
    if (db.installedAt() === undefined) {
      states.push({
        name: db.name,
        address,
        up: false,
        started: false,
        problem: `${db.name} is not installed: ${db.install}`,
      });
      continue;
    }
    const result = spawnSync('bash', ['-c', db.start], { encoding: 'utf8' });
    try {
      if (result.status !== 0) throw new Error(result.stderr.trim() || `exit ${result.status}`);
      await waitForPort('127.0.0.1', db.port, 30_000, db.name);
      states.push({ name: db.name, address, up: true, started: true });
    } catch (err) {
      states.push({
        name: db.name,
        address,
        up: false,
        started: false,
        problem: `${db.name} is installed but did not start with \`${db.start}\`: ${(err as Error).message}`,
      });
    }
  }
  return states;
}

/** Reports which servers answer, without starting anything. */
export async function databaseStatus(): Promise<DatabaseState[]> {
  return Promise.all(
    DATABASES.map(async (db) => ({
      name: db.name,
      address: `127.0.0.1:${db.port}`,
      up: await portOpen('127.0.0.1', db.port),
      started: false,
    })),
  );
}

function firstExisting(paths: string[]): string | undefined {
  return paths.find((p) => existsSync(p));
}
