/** Step 1 of a check: validate every reference (all configured connections when none is given). */
import type { TargetSummary } from '../../common/contracts/check';
import type { DbopsConfig } from '../../config/load';
import { resolveTarget } from '../connections/resolve';

/** The targets as the workflow may see them (no password); throws on the first bad reference. */
export function resolveTargets(refs: string[], config: DbopsConfig): TargetSummary[] {
  const wanted = refs.length > 0 ? refs : Object.keys(config.connections).sort();
  return wanted.map((ref) => {
    const target = resolveTarget(ref, config);
    return { ref, label: target.label, engine: target.engine };
  });
}
