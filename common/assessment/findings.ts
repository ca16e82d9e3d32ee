/** How engine checks write a finding: one builder per target, so every finding has the same shape. Pure. */
import type { AssessedEngine, CheckCategory, CheckResult } from '../contracts/assessment';

/** What a check concluded: severity, value and evidence, with the rule, advice and count when they apply. */
export type Verdict = Pick<CheckResult, 'severity' | 'value' | 'evidence'> &
  Partial<Pick<CheckResult, 'threshold' | 'recommendation' | 'count'>>;

/** Builds one finding. */
export type Make = (id: string, category: CheckCategory, title: string, verdict: Verdict) => CheckResult;

/** A finding builder for one target of `engine`; advice is only attached to findings that are not ok. */
export function finder(engine: AssessedEngine, target: string): Make {
  return (id, category, title, verdict) => ({
    id,
    engine,
    target,
    category,
    title,
    severity: verdict.severity,
    value: verdict.value,
    evidence: verdict.evidence,
    ...(verdict.threshold !== undefined ? { threshold: verdict.threshold } : {}),
    ...(verdict.recommendation !== undefined && verdict.severity !== 'ok'
      ? { recommendation: verdict.recommendation }
      : {}),
    ...(verdict.count !== undefined ? { count: verdict.count } : {}),
  });
}
