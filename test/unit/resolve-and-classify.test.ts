import { describe, expect, it } from 'vitest';
import { DbopsError } from '../../common/errors';
import { classifyDriverError } from '../../activities/connections/classify-error';
import { resolveTarget } from '../../activities/connections/resolve';
import { loadConfig } from '../../config/load';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const passDir = mkdtempSync(join(tmpdir(), 'dbops-pass-'));
const secretFile = (name: string, text: string): string => {
  const path = join(passDir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
};
const pgpass = secretFile(
  'pgpass',
  '# host:port:database:user:password\ndb.internal:5432:shop:app:pg\\:secret\ndb.internal:*:shop:*:any-user\n',
);
const mypass = secretFile('mypass', 'db.internal:3306:shop:app:my\n');
const redispass = secretFile('redispass', 'cache.internal:6379:2:default:rd\n');

const config = loadConfig({ env: { DBOPS_CONNECTION_SHOP: 'mysql://app@db:3306/shop' }, cwd: tmpdir() });

describe('resolveTarget', () => {
  it('binds the password of a named connection from DBOPS_PASSWORD_<NAME> to that connection, label stays the name', () => {
    const target = resolveTarget('shop', config, { DBOPS_PASSWORD_SHOP: 'p@ss w/rd' });
    expect(target).toEqual({
      label: 'shop',
      engine: 'mysql',
      url: 'mysql://app@db:3306/shop',
      password: 'p@ss w/rd',
      passwordFrom: 'DBOPS_PASSWORD_SHOP',
    });
  });

  it('never gives an ad-hoc URL the blanket PGPASSWORD / MYSQL_PWD / REDISCLI_AUTH', () => {
    const env = { PGPASSWORD: 'a', MYSQL_PWD: 'b', REDISCLI_AUTH: 'c', HOME: passDir };
    expect(resolveTarget('postgres://app@evil.example/x', config, env).password).toBeUndefined();
    expect(resolveTarget('mysql://app@evil.example/x', config, env).password).toBeUndefined();
    expect(resolveTarget('redis://evil.example:6379', config, env).password).toBeUndefined();
  });

  it('gives an ad-hoc URL only the password a host-keyed credential file holds for that host, port, database and user', () => {
    const env = { PGPASSFILE: pgpass, DBOPS_MYSQL_PASSFILE: mypass, DBOPS_REDIS_PASSFILE: redispass };
    expect(resolveTarget('postgres://app@db.internal:5432/shop', config, env).password).toBe('pg:secret');
    expect(resolveTarget('postgres://app@db.internal/shop', config, env).password).toBe('pg:secret'); // default port
    expect(resolveTarget('postgres://app@db.internal:5433/shop', config, env).password).toBe('any-user'); // "*" port
    expect(resolveTarget('postgres://app@db.internal/billing', config, env).password).toBeUndefined();
    expect(resolveTarget('postgres://other@db.internal/shop', config, env).password).toBe('any-user'); // "*" user
    expect(resolveTarget('postgres://app@evil.example/shop', config, env).password).toBeUndefined();
    expect(resolveTarget('mysql://app@db.internal/shop', config, env).password).toBe('my');
    expect(resolveTarget('redis://cache.internal:6379/2', config, env).password).toBe('rd');
    expect(resolveTarget('redis://cache.internal:6379/3', config, env).password).toBeUndefined();
  });

  it('ignores a credential file that its group or others may read, as libpq does', () => {
    const open = join(passDir, 'open.pgpass');
    writeFileSync(open, 'db.internal:5432:shop:app:leaky\n', { mode: 0o644 });
    chmodSync(open, 0o644);
    expect(resolveTarget('postgres://app@db.internal/shop', config, { PGPASSFILE: open }).password).toBeUndefined();
  });

  it('resolves SQLite paths to absolute paths', () => {
    expect(resolveTarget('sqlite:///srv/app.db', config, {})).toEqual({
      label: '/srv/app.db',
      engine: 'sqlite',
      path: '/srv/app.db',
    });
    expect(resolveTarget('data/app.db', config, {}).path).toMatch(/^\/.*\/data\/app\.db$/);
  });

  it.each([
    [
      'nosuch',
      'DBOPS_UNKNOWN_CONNECTION',
      /unknown connection "nosuch" \(configured: local_mysql, local_pg, local_redis, shop\)/,
    ],
    ['postgres://u:pw@h/d', 'DBOPS_SECRET_IN_INPUT', /contains a password/],
    ['ftp://h/d', 'DBOPS_BAD_INPUT', /not a supported URL scheme/],
  ])('refuses %s with %s', (ref, code, message) => {
    let error: unknown;
    try {
      resolveTarget(ref, config, {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DbopsError);
    expect(error).toMatchObject({ code, retryable: false });
    expect((error as Error).message).toMatch(message);
  });
});

describe('classifyDriverError', () => {
  const driverError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it.each([
    [driverError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), 'DBOPS_UNREACHABLE', true],
    [new Error('Connection terminated due to connection timeout'), 'DBOPS_UNREACHABLE', true],
    [new Error('timeout exceeded when trying to connect'), 'DBOPS_UNREACHABLE', true], // pg-pool checkout
    [
      Object.assign(new Error('Reached the max retries per request limit (which is 2).'), {
        name: 'MaxRetriesPerRequestError',
      }),
      'DBOPS_UNREACHABLE',
      true,
    ],
    [driverError('28P01', 'password authentication failed for user "app"'), 'DBOPS_AUTH_FAILED', false],
    [driverError('ER_ACCESS_DENIED_ERROR', "Access denied for user 'app'@'h'"), 'DBOPS_AUTH_FAILED', false],
    [new Error('WRONGPASS invalid username-password pair'), 'DBOPS_AUTH_FAILED', false],
    [driverError('3D000', 'database "nope" does not exist'), 'DBOPS_DATABASE_MISSING', false],
    [driverError('ER_BAD_DB_ERROR', "Unknown database 'nope'"), 'DBOPS_DATABASE_MISSING', false],
  ])('%s → %s (retryable %s), keeping the driver message', (err, code, retryable) => {
    const known = classifyDriverError(err, 'shop');
    expect(known).toMatchObject({ code, retryable });
    expect(known?.message).toContain('shop: ');
    expect(known?.cause).toBe(err);
  });

  it('leaves unknown errors alone (the retry policy decides)', () => {
    expect(classifyDriverError(driverError('40P01', 'deadlock detected'), 'x')).toBeUndefined();
    expect(classifyDriverError('a string', 'x')).toBeUndefined();
  });
});
