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
import { mailpit } from './mailpit';
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
  const started = Date.now();
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
      await removeDefaultInboxMail(started);
    };
  } catch (err) {
    await env.teardown();
    throw err;
  }
}

/**
 * Workers without a config file notify the local stack's default inbox (operators@localhost): the alerts
 * of the runs the tests fail on purpose land there. Tests that read mail use recipients of their own; this
 * removes what the run left in the default inbox.
 */
async function removeDefaultInboxMail(since: number): Promise<void> {
  const left = await mailpit.search('to:"operators@localhost" subject:dbops', 1000);
  await mailpit.delete(left.filter((m) => Date.parse(m.Created) >= since).map((m) => m.ID));
}
