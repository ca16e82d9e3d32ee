/** Where a run keeps its files: `<artifactDir>/<job folder>/<workflowId>/`. */
import { join } from 'node:path';

/** The artifact folder of one workflow run (created by whoever writes into it first). */
export function runArtifactDir(artifactDir: string, jobFolder: string, workflowId: string): string {
  return join(artifactDir, jobFolder, workflowId);
}
