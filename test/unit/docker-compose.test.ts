/**
 * No Docker engine runs here, so the compose file is checked by reading it: the worker's environment uses
 * only names the config module knows, the config it describes validates, every service it depends on
 * exists, no secret is written inline, and the search attributes match the ones the workflows set.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTE_KEYS } from '../../common/search-attributes';
import { CONFIG_ENV_VARS, isKnownEnvVar } from '../../config/env-vars';
import { loadConfig } from '../../config/load';

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | number | boolean>;
  depends_on?: Record<string, { condition: string }>;
  command?: string | string[];
  stop_grace_period?: string;
}
const root = join(__dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const worker = compose.services.worker as Service;
const workerEnv = Object.fromEntries(Object.entries(worker.environment ?? {}).map(([k, v]) => [k, String(v)]));

describe('docker-compose.yml', () => {
  it('has the production-shaped services, the worker built from this repository', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining([
        'temporal-db',
        'temporal-admin-tools',
        'temporal',
        'temporal-ui',
        'minio',
        'worker',
        'app-postgres',
        'app-mysql',
        'app-redis',
      ]),
    );
    expect(worker.build).toBe('.');
    expect(compose.services.temporal?.image).toMatch(/^temporalio\/server:/);
    expect(compose.services['temporal-ui']?.environment).toMatchObject({
      TEMPORAL_START_WORKFLOW_DISABLED: 'false',
      TEMPORAL_WORKFLOW_SIGNAL_DISABLED: 'false',
    });
  });

  it('every depends_on names a service of the file', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(compose.services, `${name} depends on ${dependency}`).toHaveProperty([dependency]);
      }
    }
  });

  it("the worker's environment uses only the config module's names and covers the essentials", () => {
    const unknown = Object.keys(workerEnv).filter((name) => !isKnownEnvVar(name));
    expect(unknown).toEqual([]);
    for (const required of [
      'DBOPS_TEMPORAL_ADDRESS',
      'DBOPS_TASK_QUEUE',
      'DBOPS_S3_ENDPOINT',
      'DBOPS_S3_BUCKET',
      'DBOPS_S3_SECRET_ACCESS_KEY',
    ]) {
      expect(Object.keys(CONFIG_ENV_VARS)).toContain(required);
      expect(workerEnv).toHaveProperty(required);
    }
  });

  it("the worker's environment is a valid configuration (with the secrets substituted)", () => {
    const env = Object.fromEntries(
      Object.entries(workerEnv).map(([k, v]) => [k, v.replace(/\$\{[^}]+\}/g, 'from-env-file')]),
    );
    const config = loadConfig({ env, cwd: '/nonexistent' });
    expect(config.temporal.address).toBe('temporal:7233');
    expect(config.connections).toMatchObject({
      app_pg: 'postgres://app@app-postgres:5432/app',
      app_mysql: 'mysql://app@app-mysql:3306/app',
    });
    expect(config.worker.shutdownGraceSeconds).toBeLessThan(Number.parseInt(worker.stop_grace_period ?? '0', 10));
  });

  it('writes no secret inline: every password and key is an ${…} reference', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/PASSWORD|PWD|SECRET/.test(key) && !/DISABLED|RANDOM_ROOT/.test(key)) {
          expect(String(value), `${name}.${key}`).toMatch(/^\$\{[A-Z0-9_]+:\?[^}]+\}$/);
        }
      }
    }
  });

  it('registers exactly the search attributes the workflows set', () => {
    const command = JSON.stringify(compose.services['temporal-setup']?.command);
    const typeNames: Record<string, string> = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList' };
    for (const key of SEARCH_ATTRIBUTE_KEYS) expect(command).toContain(`${key.name}=${typeNames[key.type]}`);
  });
});
