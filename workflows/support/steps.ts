/**
 * The step runner every workflow uses: entering a step sets the phase and the operator's sentence (the
 * `progress` query and the `DbopsPhase` search attribute follow), and its wall time is added to `timings`
 * under the phase's name, so a result can say where the time went.
 */
import type { JobState } from './job-state';

/** Runs a workflow's steps and times them by phase. */
export class StepRunner {
  /** Milliseconds spent per phase (a phase entered twice adds up). */
  readonly timings: Record<string, number> = {};

  constructor(private readonly state: JobState) {}

  /** Enters `phase` with `message`, runs `body`, and records its duration. */
  async run<T>(phase: string, message: string, body: () => Promise<T>): Promise<T> {
    this.state.update({ phase, message });
    const started = Date.now();
    try {
      return await body();
    } finally {
      this.timings[phase] = (this.timings[phase] ?? 0) + (Date.now() - started);
    }
  }
}
