/**
 * The contract of `connectionCheck`: input, result, and the types its activities return. Imported by the
 * workflow, its activities, the CLI and the tests.
 */
import type { Engine } from '../connection-ref';
import type { ServerFacts } from '../server-facts';

/** The workflow type, as operators type it in the Web UI's Start Workflow form. */
export const CHECK_WORKFLOW = 'connectionCheck';

/** Input of `connectionCheck`. One JSON object, so the Web UI's Start Workflow form can send it. */
export interface ConnectionCheckInput {
  /** Connection names, password-free URLs or SQLite paths; empty or absent = every configured connection. */
  targets?: string[];
}

/** A target as the workflow sees it: no URL with a password, ever. */
export interface TargetSummary {
  /** The reference to pass back to later activities (a name, or the input's own password-free string). */
  ref: string;
  label: string;
  engine: Engine;
}

/** Result of checking one target. */
export interface ConnectionCheck extends Partial<ServerFacts> {
  target: string;
  engine: Engine;
  ok: boolean;
  latencyMs: number;
  error?: { code: string; message: string };
}

/** Result of `connectionCheck`. */
export interface ConnectionCheckResult {
  status: 'completed';
  /** True when every target answered. */
  healthy: boolean;
  targets: ConnectionCheck[];
}
