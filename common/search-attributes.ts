/**
 * Custom search attributes the workflows set, so `dbops list/status` and the Web UI can filter and show
 * the phase without a worker answering a query. The stack and the test server register exactly these.
 * Pure: imported by workflows.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Which kind of job: `check`, `migration`, `backup`, `restore`, `assessment`. */
export const kindKey = defineSearchAttributeKey('DbopsKind', SearchAttributeType.KEYWORD);
/** The current phase, as in the workflow's `progress` query. */
export const phaseKey = defineSearchAttributeKey('DbopsPhase', SearchAttributeType.KEYWORD);
/** The connection names or redacted URLs the job works on. */
export const targetsKey = defineSearchAttributeKey('DbopsTargets', SearchAttributeType.KEYWORD_LIST);

/** Every custom search attribute dbops uses. */
export const SEARCH_ATTRIBUTE_KEYS = [kindKey, phaseKey, targetsKey] as const;
