/** `dbops assess [targets…]`: starts `assessEstate` (every configured connection when none is named). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  ASSESS_WORKFLOW,
  type AssessInput,
  assessInputSchema,
  type AssessResult,
} from '../../../common/contracts/assessment';
import { inputProblems } from '../../../common/contracts/backup';
import { DbopsError, ErrorCode } from '../../../common/errors';
import type { CliContext, CommandRunner } from '../context';
import { startWorkflow, withStartFlags, type StartFlags } from '../start-workflow';

interface AssessFlags extends StartFlags {
  code: string[];
  window: string;
  probes?: string;
  backup: boolean;
  poc?: boolean;
  previous?: string;
}

/** `90s`, `1m`, `2h`, or plain seconds → seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)\s*(s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}

/** Registers the command. */
export function registerAssess(program: Command, ctx: CliContext, run: CommandRunner): void {
  withStartFlags(
    program
      .command('assess')
      .description('assess databases: health, volume, hot/cold, query patterns, baseline, backup, score and plan')
      .argument('[targets...]', 'connection names, URLs without passwords, SQLite paths, tdengine://user@host:6041')
      .option(
        '--code <dir>',
        'scan this code directory for queries (repeatable)',
        (v: string, acc: string[]) => [...acc, v],
        [],
      )
      .option('--window <duration>', 'time between the two usage samples, e.g. 30s, 1m, 5m', '1m')
      .option('--probes <file>', 'JSON file: [{"target","name","sql"}] probe queries')
      .option('--no-backup', 'do not back up (the plan then rests on no verified backup)')
      .option('--poc', 'run the time-series POC on the chosen PostgreSQL')
      .option(
        '--previous <json>',
        'a previous database_assessment_<ts>.json (on the worker host) for growth and regressions',
      ),
  ).action((targets: string[], flags: AssessFlags) =>
    run(async () => {
      const windowSeconds = parseDuration(flags.window);
      if (windowSeconds === undefined)
        throw new DbopsError(
          ErrorCode.BadInput,
          `--window "${flags.window}" is not a duration: use e.g. 30s, 1m or 5m`,
        );
      let probes: AssessInput['probes'];
      if (flags.probes !== undefined) {
        try {
          probes = JSON.parse(readFileSync(flags.probes, 'utf8')) as AssessInput['probes'];
        } catch (err) {
          throw new DbopsError(ErrorCode.BadInput, `--probes ${flags.probes}: ${(err as Error).message}`);
        }
      }
      const input: AssessInput = {
        ...(targets.length > 0 ? { targets } : {}),
        ...(flags.code.length > 0 ? { codeDirs: flags.code } : {}),
        windowSeconds,
        ...(probes ? { probes } : {}),
        ...(flags.backup === false ? { backup: false } : {}),
        ...(flags.poc ? { poc: true } : {}),
        ...(flags.previous ? { previous: flags.previous } : {}),
      };
      const problems = inputProblems(assessInputSchema, input);
      if (problems.length > 0)
        throw new DbopsError(ErrorCode.BadInput, `refused before starting: ${problems.join('; ')}`);
      return startWorkflow<AssessInput, AssessResult>(ctx, flags, {
        workflowType: ASSESS_WORKFLOW,
        idPrefix: 'assess',
        summary: `assess ${input.targets?.length ? input.targets.join(', ') : 'every configured database'}`,
        input,
        render: (r) => [
          `overall ${r.overall.score}/100 (${r.overall.band}), coverage ${Math.round(r.overall.coverage * 100)} %`,
          ...r.databases.map(
            (d) =>
              `  ${d.target.padEnd(24)} ${d.engine.padEnd(9)} ${d.up ? 'up  ' : 'DOWN'} ${String(d.score.score).padStart(3)}/100 ${d.score.band}  ${d.findings.filter((f) => f.severity === 'warning' || f.severity === 'critical').length} finding(s)`,
          ),
          r.plan ? `  plan ${r.plan.id}: ${r.plan.title}` : '  no plan (the backup was not verified)',
          ...Object.entries(r.reports)
            .filter(([k]) => k.endsWith('.md'))
            .map(([k, v]) => `  ${k}: ${v}`),
        ],
      });
    }),
  );
}
