/**
 * `assessEstate`: measures every database of an estate, backs it all up, and recommends a plan from the facts.
 *
 * Phases: `targets` → `health` (health checks and volume, per target in parallel; a target that is down is
 * reported down) → `usage` (two samples of the engines' counters a window apart: hot / warm / cold) →
 * `patterns` (live statement statistics, and code directories scanned with a SQL parser) → `baseline`
 * (probe queries run K times: p50/p95/p99) → `backup` (one `backupDatabase` child per database, verified)
 * → `plan` (scores per database and overall, Plan A or B from the rules) → `report` → `completed`.
 * Every step is read-only on the assessed databases; the plan is only written once the backup is verified.
 * Each activity carries a one-line summary for the Web UI's timeline (`assess postgres local_pg: health and
 * volume`), the progress has one item per database (steps done of its steps, and its state), and a run that
 * fails tells the operators (workflows/support/operator-alerts.ts).
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
import type { ProgressItem } from '../common/progress';
import { backupDatabase } from './backup';
import { LONG_STEP, QUICK_STEP } from './support/activity-options';
import { rootOf } from './support/failures';
import { guardInput, JobState } from './support/job-state';
import { listNames, notifyOnFailure } from './support/operator-alerts';
import { StepRunner } from './support/steps';
import { buildPlanFacts } from './assessment-facts';

// Each proxy takes the one-line summary the Web UI's timeline shows (user metadata: replay ignores it).
const quick = (summary: string) => proxyActivities<Activities>({ ...QUICK_STEP, summary });
const long = (summary: string) =>
  proxyActivities<Activities>({
    ...LONG_STEP,
    startToCloseTimeout: '30 minutes',
    summary,
  });

/** `assess postgres local_pg: health`: a step on one database, in the operator's words. */
const on = (target: AssessTarget, step: string): string => `assess ${target.engine} ${target.name}: ${step}`;

/** Assesses the estate. */
export async function assessEstate(input: AssessInput = {}): Promise<AssessResult> {
  return notifyOnFailure(
    {
      what: () => `assessment of ${input?.targets?.length ? listNames(input.targets) : 'every configured connection'}`,
    },
    () => assess(input ?? {}),
  );
}

async function assess(input: AssessInput): Promise<AssessResult> {
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
  // One progress item per database: its steps done (health, usage, patterns, baseline, backup) and its state.
  const items = new Map<string, ProgressItem>();
  const show = (): void => state.update({ ...state.progress, items: [...items.values()].map((i) => ({ ...i })) });
  const mark = (target: AssessTarget, doing: string, stepDone = false): void => {
    const item = items.get(target.name);
    if (!item) return;
    item.state = doing;
    if (stepDone) item.done = Math.min(item.total, item.done + 1);
  };
  try {
    const { targets, invalid } = await steps.run('targets', 'resolving targets', () =>
      quick(
        `resolve ${input.targets?.length ? listNames(input.targets) : 'every configured connection'}`,
      ).assessmentTargets({ targets: input.targets }),
    );
    const backs = (t: AssessTarget): boolean => input.backup !== false && t.engine !== 'tdengine';
    for (const t of targets)
      items.set(t.name, { name: t.name, done: 0, total: backs(t) ? 5 : 4, unit: 'steps', state: 'queued' });
    for (const bad of invalid)
      items.set(bad.ref, { name: bad.ref, done: 0, total: 0, unit: 'steps', state: `failed (${bad.error.type})` });
    const previous: PreviousAssessment | undefined = input.previous
      ? await quick(`read the previous assessment ${input.previous}`).assessmentPrevious({ path: input.previous })
      : undefined;

    const health = await steps.run('health', `checking ${targets.length} database(s)`, () => {
      for (const t of targets) mark(t, 'health');
      show();
      return Promise.all(
        targets.map(async (target) => {
          try {
            const result = await long(on(target, 'health and volume')).assessmentHealth({ target });
            mark(target, result.up ? 'healthy' : 'down', true);
            return result;
          } catch (err) {
            const root = rootOf(err);
            mark(target, 'down', true);
            return failedAssessment(target, root.type ?? 'DBOPS_ASSESSMENT_FAILED', root.message);
          } finally {
            show();
          }
        }),
      );
    });
    const up = targets.filter((_, i) => health[i]?.up);
    // A database that is down gets no further step: its item ends where it is.
    for (const t of targets.filter((_, i) => !health[i]?.up)) {
      const item = items.get(t.name);
      if (item) item.total = item.done;
    }

    const usage: Record<string, TableUsage[]> = {};
    const usageUnknown: Record<string, string> = {};
    await steps.run('usage', `sampling usage over ${windowSeconds} s`, async () => {
      for (const t of up) mark(t, 'sampling usage');
      show();
      const sample = (target: AssessTarget, n: number) =>
        quick(on(target, `usage sample ${n} of 2`))
          .assessmentUsage({ target })
          .catch(() => undefined);
      const before = await Promise.all(up.map((target) => sample(target, 1)));
      await sleep(windowSeconds * 1000);
      const after = await Promise.all(up.map((target) => sample(target, 2)));
      for (const t of up) mark(t, 'usage sampled', true);
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
      for (const t of up) mark(t, 'reading query patterns');
      show();
      const live = await Promise.all(
        up.map((target) =>
          quick(on(target, 'query patterns'))
            .assessmentPatterns({ target })
            .catch(() => undefined),
        ),
      );
      up.forEach((target, i) => (patterns[target.name] = live[i]?.patterns ?? []));
      for (const t of up) mark(t, 'patterns read', true);
      show();
      if (input.codeDirs?.length) {
        const scan = await long(`scan ${listNames(input.codeDirs)} for SQL`).assessmentCodeScan({
          dirs: input.codeDirs,
        });
        codePatterns = scan.patterns;
        codeTables = scan.byTable;
      }
    });

    const probes: ProbeResult[] = await steps.run('baseline', 'running probe queries', async () => {
      for (const t of up) mark(t, 'baseline');
      show();
      const runs = input.probeRuns ?? 20;
      const results = await Promise.all(
        up.map((target) => {
          const mine = (input.probes ?? []).filter((p) => p.target === target.name || p.target === target.ref);
          return long(
            on(
              target,
              `baseline, ${mine.length > 0 ? `${mine.length} probe(s)` : 'top live statements and default probes'} × ${runs}`,
            ),
          )
            .assessmentProbes({ target, probes: mine, runs, previous: previous?.probes })
            .catch(() => [] as ProbeResult[])
            .finally(() => {
              mark(target, backs(target) ? 'measured' : 'assessed', true);
              show();
            });
        }),
      );
      return results.flat();
    });

    let backup: AssessResult['backup'];
    if (input.backup !== false) {
      backup = await steps.run('backup', `backing up ${up.length} database(s)`, async () => {
        for (const t of up.filter(backs)) mark(t, 'backing up');
        show();
        const results = await Promise.all(
          up
            .filter((t) => t.engine !== 'tdengine')
            .map((t) =>
              executeChild(backupDatabase, {
                workflowId: `backup-${t.name}-${timestamp}`,
                args: [{ target: t.ref, timestamp }],
                staticSummary: `backup ${t.name} (${t.engine})`,
              })
                .then((r) => {
                  mark(t, r.status === 'completed' ? 'backed up' : 'backup failed', true);
                  show();
                  return r;
                })
                .catch((err: unknown): BackupDatabaseResult => {
                  mark(t, 'backup failed', true);
                  show();
                  return {
                    status: 'failed',
                    target: t.name,
                    files: [],
                    totalBytes: 0,
                    uploaded: false,
                    durationMs: 0,
                    timings: {},
                    error: { type: rootOf(err).type ?? ErrorCode.BackupFailed, message: rootOf(err).message },
                  };
                }),
            ),
        );
        const backupIds = results.filter((r) => r.status === 'completed').map((r) => r.backupId ?? r.target);
        const failed = results
          .filter((r) => r.status !== 'completed')
          .map((r) => `${r.target}: ${r.error?.message ?? ''}`);
        if (failed.length > 0) return { backupIds, failed };
        // Everything verified: one archive of it all (plus TDengine's schema and counts, and config files).
        try {
          const archive = await long(
            `pack ${backupIds.length} verified backup(s)${up.some((t) => t.engine === 'tdengine') ? ', TDengine schema and counts' : ''} into one estate archive`,
          ).assessmentArchive({
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
      const rows = input.pocRows ?? 200_000;
      const result = await steps.run('poc', `time-series POC on ${pocTarget.name}`, () =>
        long(
          `time-series POC on ${pocTarget.name}: ${rows} rows${source ? ` shaped like ${source.st.name}` : ''}`,
        ).assessmentPoc({
          target: pocTarget,
          ...(source
            ? {
                shape: { name: source.st.name, columns: source.st.columns, tags: source.st.tags },
                source: { target: source.t, db: source.st.db, stable: source.st.name },
              }
            : {}),
          rows,
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
      long('write the reports and upload them').assessmentReports({
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
    for (const t of up) if (items.get(t.name)?.state !== 'backup failed') mark(t, 'assessed');
    state.update({
      phase: 'completed',
      message: `overall ${overall.score}/100 (${overall.band})${plan ? `; Plan ${plan.id}` : '; no plan (backup not verified)'}`,
      items: [...items.values()],
    });
    return {
      status: 'completed',
      // First, so the Web UI's result panel shows them without scrolling.
      score: overall.score,
      report: reports['DATABASE_ASSESSMENT_REPORT.md'],
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
    state.update({ ...state.progress, phase: 'failed', message: rootOf(err).message, items: [...items.values()] });
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
