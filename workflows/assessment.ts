/**
 * `assessEstate`: measures every database of an estate, backs it all up, and recommends a plan from the facts.
 *
 * Phases: `targets` → `health` (health checks and volume, per target in parallel; a target that is down is
 * reported down) → `usage` (two samples of the engines' counters a window apart: hot / warm / cold) →
 * `patterns` (live statement statistics, and code directories scanned with a SQL parser) → `baseline`
 * (probe queries run K times: p50/p95/p99) → `backup` (one `backupDatabase` child per database, verified)
 * → `plan` (scores per database and overall, Plan A or B from the rules) → `report` → `completed`.
 * Every step is read-only on the assessed databases; the plan is only written once the backup is verified.
 */
import { ApplicationFailure } from '@temporalio/common';
import { executeChild, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PreviousAssessment, TargetAssessment } from '../activities/assessment/activities';
import type { ReportData } from '../activities/assessment/report';
import type { AssessTarget } from '../activities/assessment/targets';
import { choosePlan } from '../common/assessment/plan';
import { ASSESSMENT_RULES } from '../common/assessment/rules';
import { scoreEstate, scoreFindings } from '../common/assessment/score';
import { classifyUsage } from '../common/assessment/usage';
import {
  type AssessInput,
  assessInputSchema,
  type AssessResult,
  type DatabaseAssessment,
  type ProbeResult,
  type QueryPattern,
  type TableUsage,
} from '../common/contracts/assessment';
import { backupTimestamp, type BackupDatabaseResult, inputProblems } from '../common/contracts/backup';
import { ErrorCode } from '../common/errors';
import { backupDatabase } from './backup';
import { LONG_STEP, QUICK_STEP } from './support/activity-options';
import { rootOf } from './support/failures';
import { guardInput, JobState } from './support/job-state';
import { StepRunner } from './support/steps';
import { buildPlanFacts } from './assessment-facts';

const { assessmentTargets, assessmentUsage, assessmentPatterns, assessmentPrevious } =
  proxyActivities<Activities>(QUICK_STEP);
const { assessmentHealth, assessmentCodeScan, assessmentProbes, assessmentReports, assessmentPoc, assessmentArchive } =
  proxyActivities<Activities>({
    ...LONG_STEP,
    startToCloseTimeout: '30 minutes',
  });

/** Assesses the estate. */
export async function assessEstate(input: AssessInput = {}): Promise<AssessResult> {
  guardInput(input);
  const problems = inputProblems(assessInputSchema, input);
  if (problems.length > 0)
    throw ApplicationFailure.create({
      type: ErrorCode.BadInput,
      message: `invalid input: ${problems.join('; ')}`,
      nonRetryable: true,
    });
  const state = new JobState('assessment', input.targets ?? [], { phase: 'targets', message: 'resolving targets' });
  const steps = new StepRunner(state);
  const timestamp = backupTimestamp(workflowInfo().startTime);
  const windowSeconds = input.windowSeconds ?? 60;
  try {
    const { targets, invalid } = await steps.run('targets', 'resolving targets', () =>
      assessmentTargets({ targets: input.targets }),
    );
    const previous: PreviousAssessment | undefined = input.previous
      ? await assessmentPrevious({ path: input.previous })
      : undefined;

    const health = await steps.run('health', `checking ${targets.length} database(s)`, () =>
      Promise.all(
        targets.map(async (target) => {
          try {
            return await assessmentHealth({ target });
          } catch (err) {
            const root = rootOf(err);
            return failedAssessment(target, root.type ?? 'DBOPS_ASSESSMENT_FAILED', root.message);
          }
        }),
      ),
    );
    const up = targets.filter((_, i) => health[i]?.up);

    const usage: Record<string, TableUsage[]> = {};
    const usageUnknown: Record<string, string> = {};
    await steps.run('usage', `sampling usage over ${windowSeconds} s`, async () => {
      const before = await Promise.all(up.map((target) => assessmentUsage({ target }).catch(() => undefined)));
      await sleep(windowSeconds * 1000);
      const after = await Promise.all(up.map((target) => assessmentUsage({ target }).catch(() => undefined)));
      up.forEach((target, i) => {
        const a = before[i];
        const b = after[i];
        if (!a || !b || a.unknown || b.unknown) usageUnknown[target.name] = a?.unknown ?? b?.unknown ?? 'not sampled';
        else usage[target.name] = classifyUsage(a.counters, b.counters, windowSeconds, ASSESSMENT_RULES);
      });
    });

    const patterns: Record<string, QueryPattern[]> = {};
    let codePatterns: QueryPattern[] = [];
    let codeTables: ReportData['codeTables'] = {};
    await steps.run('patterns', 'reading query patterns', async () => {
      const live = await Promise.all(up.map((target) => assessmentPatterns({ target }).catch(() => undefined)));
      up.forEach((target, i) => (patterns[target.name] = live[i]?.patterns ?? []));
      if (input.codeDirs?.length) {
        const scan = await assessmentCodeScan({ dirs: input.codeDirs });
        codePatterns = scan.patterns;
        codeTables = scan.byTable;
      }
    });

    const probes: ProbeResult[] = await steps.run('baseline', 'running probe queries', async () =>
      (
        await Promise.all(
          up.map((target) =>
            assessmentProbes({
              target,
              probes: (input.probes ?? []).filter((p) => p.target === target.name || p.target === target.ref),
              runs: input.probeRuns ?? 20,
              previous: previous?.probes,
            }).catch(() => [] as ProbeResult[]),
          ),
        )
      ).flat(),
    );

    let backup: AssessResult['backup'];
    if (input.backup !== false) {
      backup = await steps.run('backup', `backing up ${up.length} database(s)`, async () => {
        const results = await Promise.all(
          up
            .filter((t) => t.engine !== 'tdengine')
            .map((t) =>
              executeChild(backupDatabase, {
                workflowId: `backup-${t.name}-${timestamp}`,
                args: [{ target: t.ref, timestamp }],
              }).catch((err: unknown): BackupDatabaseResult => ({
                status: 'failed',
                target: t.name,
                files: [],
                totalBytes: 0,
                uploaded: false,
                durationMs: 0,
                timings: {},
                error: { type: rootOf(err).type ?? ErrorCode.BackupFailed, message: rootOf(err).message },
              })),
            ),
        );
        const backupIds = results.filter((r) => r.status === 'completed').map((r) => r.backupId ?? r.target);
        const failed = results
          .filter((r) => r.status !== 'completed')
          .map((r) => `${r.target}: ${r.error?.message ?? ''}`);
        if (failed.length > 0) return { backupIds, failed };
        // Everything verified: one archive of it all (plus TDengine's schema and counts, and config files).
        try {
          const archive = await assessmentArchive({
            timestamp,
            backupIds,
            tdengine: up.filter((t) => t.engine === 'tdengine'),
            configFiles: input.configFiles ?? [],
          });
          return { backupIds, failed, archive };
        } catch (err) {
          return { backupIds, failed: [`estate archive: ${rootOf(err).message}`] };
        }
      });
    }

    const databases: DatabaseAssessment[] = targets.map((target, i) => {
      const h = health[i] as TargetAssessment;
      const volume = h.volume && previous ? withGrowth(h.volume, previous, target.name, timestamp) : h.volume;
      return {
        target: target.name,
        engine: target.engine,
        up: h.up,
        ...(h.version ? { version: h.version } : {}),
        score: scoreFindings(h.findings),
        findings: h.findings,
        ...(volume ? { volume } : {}),
      };
    });
    for (const bad of invalid) {
      databases.push({
        target: bad.ref,
        engine: 'postgres',
        up: false,
        score: scoreFindings([]),
        findings: [],
        error: bad.error,
      });
    }
    const overall = scoreEstate(databases.map((d) => d.score));

    // The plan is written only on top of a verified backup of everything (or when no backup was asked for).
    const backupOk = backup === undefined || backup.failed.length === 0;
    const plan = backupOk
      ? await steps.run('plan', 'choosing the plan', async () =>
          choosePlan(buildPlanFacts(targets, health, usage, patterns, codePatterns)),
        )
      : undefined;

    // The POC runs on the PostgreSQL the plan would consolidate into, shaped like the largest supertable.
    let poc: ReportData['poc'];
    const pocTarget = targets.find((t, i) => t.engine === 'postgres' && health[i]?.up);
    if (input.poc && pocTarget) {
      const source = targets
        .flatMap((t, i) => (health[i]?.supertables ?? []).map((st) => ({ target: t.name, t, st })))
        .sort((a, b) => b.st.rows - a.st.rows)[0];
      const result = await steps.run('poc', `time-series POC on ${pocTarget.name}`, () =>
        assessmentPoc({
          target: pocTarget,
          ...(source
            ? {
                shape: { name: source.st.name, columns: source.st.columns, tags: source.st.tags },
                source: { target: source.t, db: source.st.db, stable: source.st.name },
              }
            : {}),
          rows: input.pocRows ?? 200_000,
          runs: input.probeRuns ?? 20,
        }),
      );
      poc = {
        ...result,
        target: pocTarget.name,
        ...(source
          ? { source: { target: source.target, table: `${source.st.db}.${source.st.name}`, rows: source.st.rows } }
          : {}),
      };
    }

    const reports = await steps.run('report', 'writing the reports', () =>
      assessmentReports({
        upload: true,
        data: {
          timestamp,
          workflowId: workflowInfo().workflowId,
          overall,
          databases,
          usage,
          usageUnknown,
          patterns,
          codePatterns,
          codeTables,
          probes,
          ...(plan ? { plan } : {}),
          ...(backup ? { backup } : {}),
          ...(poc ? { poc } : {}),
          windowSeconds,
        },
      }),
    );
    state.update({
      phase: 'completed',
      message: `overall ${overall.score}/100 (${overall.band})${plan ? `; Plan ${plan.id}` : '; no plan (backup not verified)'}`,
    });
    return {
      status: 'completed',
      timestamp,
      overall,
      databases,
      ...(plan ? { plan: { id: plan.id, title: plan.title, reasons: plan.reasons } } : {}),
      ...(backup ? { backup } : {}),
      ...(poc
        ? {
            poc: {
              strategy: poc.strategy,
              rows: poc.rows,
              insertRowsPerSecond: Math.round(poc.insertRowsPerSecond),
              queries: poc.queries.map(({ name, p50Ms, p95Ms, p99Ms }) => ({ name, p50Ms, p95Ms, p99Ms })),
            },
          }
        : {}),
      reports,
    };
  } catch (err) {
    state.update({ ...state.progress, phase: 'failed', message: rootOf(err).message });
    throw err;
  }
}

/** A target whose health step failed outright: down, with the reason, as one critical availability finding. */
function failedAssessment(target: AssessTarget, type: string, message: string): TargetAssessment {
  return {
    up: false,
    facts: {},
    findings: [
      {
        id: `${target.engine}.reachable`,
        engine: target.engine,
        target: target.name,
        category: 'availability',
        severity: 'critical',
        title: 'database reachable',
        value: null,
        evidence: `${type}: ${message}`,
        recommendation: 'bring the database back, or fix the connection, and assess again',
      },
    ],
  };
}

/** Bytes per day since the previous assessment of the same target. */
function withGrowth(
  volume: NonNullable<TargetAssessment['volume']>,
  previous: PreviousAssessment,
  target: string,
  timestamp: string,
) {
  const before = previous.totalBytes[target];
  if (before === undefined) return volume;
  const days =
    (Date.parse(timestamp.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) -
      Date.parse(previous.timestamp.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'))) /
    86_400_000;
  return days > 0 ? { ...volume, growthBytesPerDay: Math.round((volume.totalBytes - before) / days) } : volume;
}
