/**
 * Integration-test global setup: checks the database servers and MinIO, starts one Temporal dev server
 * (the project's own binary, in memory, on a free port) and bundles the workflows once for all files.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { SEARCH_ATTRIBUTE_KEYS } from '../../common/search-attributes';
import { PATHS } from '../../scripts/stack/paths';
import { toolPath } from '../../scripts/stack/tools';
import { assertServersUp } from './servers';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

/** Starts the shared servers; the returned function tears them down. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await assertServersUp();
  const temporalBinary = toolPath('temporal');
  if (!existsSync(temporalBinary)) {
    throw new Error(`${temporalBinary} is missing: run \`npm run stack\` once (it builds the Temporal CLI)`);
  }
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBinary },
      searchAttributes: [...SEARCH_ATTRIBUTE_KEYS],
    },
  });
  try {
    const bundle = await bundleWorkflowCode({
      workflowsPath: join(__dirname, 'test-workflows.ts'),
      logger: new DefaultLogger('WARN'),
    });
    const dir = join(PATHS.state, 'test');
    mkdirSync(dir, { recursive: true });
    const bundlePath = join(dir, `workflow-bundle-${process.pid}.js`);
    writeFileSync(bundlePath, bundle.code);
    project.provide('temporalAddress', env.address);
    project.provide('workflowBundlePath', bundlePath);
    return async () => {
      rmSync(bundlePath, { force: true });
      await env.teardown();
    };
  } catch (err) {
    await env.teardown();
    throw err;
  }
}
