import { describe, expect, it } from 'vitest';
import { DbopsError } from '../../common/errors';
import { classifyDriverError } from '../../activities/connections/classify-error';
import { resolveTarget } from '../../activities/connections/resolve';
import { loadConfig } from '../../config/load';
import { tmpdir } from 'node:os';

const config = loadConfig({ env: { DBOPS_CONNECTION_SHOP: 'mysql://app@db:3306/shop' }, cwd: tmpdir() });

describe('resolveTarget', () => {
  it('adds the password of a named connection from DBOPS_PASSWORD_<NAME>, label stays the name', () => {
    const target = resolveTarget('shop', config, { DBOPS_PASSWORD_SHOP: 'p@ss w/rd' });
    expect(target).toEqual({ label: 'shop', engine: 'mysql', url: 'mysql://app:p%40ss%20w%2Frd@db:3306/shop' });
  });

  it('adds PGPASSWORD / MYSQL_PWD / REDISCLI_AUTH to ad-hoc URLs', () => {
    expect(resolveTarget('postgres://app@db/x', config, { PGPASSWORD: 'a' }).url).toBe('postgres://app:a@db/x');
    expect(resolveTarget('mysql://app@db/x', config, { MYSQL_PWD: 'b' }).url).toBe('mysql://app:b@db/x');
    expect(resolveTarget('redis://db:6379', config, { REDISCLI_AUTH: 'c' }).url).toBe('redis://:c@db:6379');
    expect(resolveTarget('redis://db:6379', config, {}).url).toBe('redis://db:6379');
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
