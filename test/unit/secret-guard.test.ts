import { describe, expect, it } from 'vitest';
import { describeSecretFindings, findSecrets, redactSecrets, stringHasSecret } from '../../common/secret-guard';

describe('secret guard', () => {
  it.each([
    'postgres://root:hunter2@db:5432/app',
    'postgresql://root:p%40ss@db/app',
    'mysql://app:pw@10.0.0.1:3306/shop',
    'redis://:pw@127.0.0.1:6379/0',
    'rediss://default:pw@cache:6380',
    'postgres://app@db/app?sslmode=require&password=pw',
    'host=db user=app password=pw dbname=app',
  ])('finds the password in %s', (value) => {
    expect(stringHasSecret(value)).toBe(true);
    expect(findSecrets({ target: value })).toEqual([
      { path: 'input.target', reason: expect.stringContaining('contains a password') },
    ]);
  });

  it.each([
    'postgres://root@127.0.0.1:5432/test',
    'postgres://127.0.0.1/test',
    'mysql://app@db:3306/shop',
    'redis://127.0.0.1:6379/0',
    'sqlite:///var/lib/app.db',
    '/srv/data/app.db',
    'local_pg',
    'a sentence with a colon: and an @ sign',
    'https://example.com/path:with@colon', // not userinfo: the @ comes after the first slash of the path
  ])('accepts %s', (value) => {
    expect(stringHasSecret(value)).toBe(false);
    expect(findSecrets(value)).toEqual([]);
  });

  it('walks nested objects and arrays and reports exact paths', () => {
    const findings = findSecrets({
      source: 'local_sqlite',
      targets: ['local_pg', 'mysql://u:pw@h/db'],
      s3: { bucket: 'b', secretAccessKey: 'abc' },
      notify: { webhook: { token: 'xyz' } },
      options: { password: '' }, // empty is not a secret
    });
    expect(findings.map((f) => f.path)).toEqual([
      'input.targets[1]',
      'input.s3.secretAccessKey',
      'input.notify.webhook.token',
    ]);
  });

  it('redacts every password form and never echoes it', () => {
    expect(redactSecrets('postgres://root:hunter2@db:5432/app')).toBe('postgres://root:***@db:5432/app');
    expect(redactSecrets('redis://:pw@h:6379')).toBe('redis://:***@h:6379');
    expect(redactSecrets('postgres://u@h/d?sslmode=require&password=pw')).toBe(
      'postgres://u@h/d?sslmode=require&password=***',
    );
    const message = describeSecretFindings(
      findSecrets({ target: 'postgres://root:hunter2@db/app', password: 'hunter3' }),
    );
    expect(message).not.toMatch(/hunter2|hunter3/);
    expect(message).toContain('input.target');
    expect(message).toContain('DBOPS_PASSWORD_<NAME>');
  });

  it('stops at a depth limit instead of recursing forever', () => {
    let deep: Record<string, unknown> = { url: 'postgres://u:pw@h/d' };
    for (let i = 0; i < 100; i++) deep = { next: deep };
    expect(findSecrets(deep)).toEqual([]);
  });
});

describe('redactSecrets', () => {
  it.each([
    ['URL user-info', 'cannot reach postgres://app:hunter2@db/x', 'cannot reach postgres://app:***@db/x'],
    [
      'a query parameter',
      'postgres://app@db/x?sslmode=require&password=hunter2',
      'postgres://app@db/x?sslmode=require&password=***',
    ],
    [
      'a libpq keyword string',
      '"host=db dbname=x password=hunter2" is not a URL',
      '"host=db dbname=x password=***" is not a URL',
    ],
    ['a quoted libpq keyword value', "host=db password='hun ter2' user=x", 'host=db password=*** user=x'],
    ['a JSON secret field', 'input {"user":"x","password":"hunter2"}', 'input {"user":"x","password":"***"}'],
  ])('masks %s', (_label, text, masked) => {
    expect(redactSecrets(text)).toBe(masked);
    expect(redactSecrets(text)).not.toContain('hunter2');
  });

  it('leaves text without secrets as it is', () => {
    expect(redactSecrets('postgres://app@db:5432/x host=db user=app')).toBe(
      'postgres://app@db:5432/x host=db user=app',
    );
  });
});
