/**
 * Pre-bundles the workflows into dist/workflow-bundle.js (part of the build) so a worker starts without
 * running webpack: faster start, and ~100+ MB less peak memory. Skipped when the bundle is newer than the
 * last compile.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { PATHS } from './stack/paths';
import { WORKFLOW_BUNDLE, workflowsEntry } from '../workers/create-worker';

async function main(): Promise<void> {
  if (existsSync(WORKFLOW_BUNDLE) && statSync(WORKFLOW_BUNDLE).mtimeMs >= statSync(PATHS.buildInfo).mtimeMs) return;
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsEntry(), logger: new DefaultLogger('WARN') });
  writeFileSync(WORKFLOW_BUNDLE, code);
}

main().catch((err: unknown) => {
  process.stderr.write(`bundle-workflows: ${(err as Error).message}\n`);
  process.exit(1);
});
