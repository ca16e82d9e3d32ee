/**
 * The assessment's thresholds, weights and plan rules: data in one versioned file (rules.json), typed here.
 * Pure; imported by workflows and activities alike. Change a number in the JSON, not in code.
 */
import rulesJson from './rules.json';

/** The rules as the JSON holds them. */
export type AssessmentRules = typeof rulesJson;

/** The shipped rules. */
export const ASSESSMENT_RULES: AssessmentRules = rulesJson;
