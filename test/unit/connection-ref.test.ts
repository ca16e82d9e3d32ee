import { describe, expect, it } from 'vitest';
import { connectionEnvVar, engineOfUrl, parseConnectionRef, passwordEnvVar } from '../../common/connection-ref';

describe('connection references', () => {
  it.each([
    ['local_pg', { kind: 'name', name: 'local_pg' }],
    ['helloagents-pg', { kind: 'name', name: 'helloagents-pg' }],
    ['postgres://root@db/app', { kind: 'url', engine: 'postgres', url: 'postgres://root@db/app' }],
    ['postgresql://root@db/app', { kind: 'url', engine: 'postgres', url: 'postgresql://root@db/app' }],
    ['mariadb://root@db/shop', { kind: 'url', engine: 'mysql', url: 'mariadb://root@db/shop' }],
    ['rediss://cache:6380', { kind: 'url', engine: 'redis', url: 'rediss://cache:6380' }],
    ['sqlite:///srv/app.db', { kind: 'file', engine: 'sqlite', path: '/srv/app.db' }],
    ['./data/app.sqlite3', { kind: 'file', engine: 'sqlite', path: './data/app.sqlite3' }],
    ['app.db', { kind: 'file', engine: 'sqlite', path: 'app.db' }],
    ['  local_pg  ', { kind: 'name', name: 'local_pg' }],
  ])('%s', (ref, expected) => {
    expect(parseConnectionRef(ref)).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['oracle://db/x', /"oracle" is not a supported URL scheme.*postgres, postgresql, mysql/],
    ['sqlite://relative/app.db', /sqlite:\/\/\/absolute\/path/],
    ['9lives', /not a valid connection name/],
    ['has space', /not a valid connection name/],
  ])('rejects %j with a sentence that says what to do', (ref, message) => {
    const parsed = parseConnectionRef(ref);
    expect(parsed).toHaveProperty('error');
    expect((parsed as { error: string }).error).toMatch(message);
  });

  it('derives environment variable names from connection names', () => {
    expect(passwordEnvVar('local_pg')).toBe('DBOPS_PASSWORD_LOCAL_PG');
    expect(passwordEnvVar('helloagents-pg')).toBe('DBOPS_PASSWORD_HELLOAGENTS_PG');
    expect(connectionEnvVar('helloagents-pg')).toBe('DBOPS_CONNECTION_HELLOAGENTS_PG');
    expect(engineOfUrl('MYSQL://x')).toBe('mysql');
    expect(engineOfUrl('ftp://x')).toBeUndefined();
  });
});
