/**
 * Custom search attributes the workflows set, so `dbops list` and the Web UI can filter and show the phase
 * without a worker answering a query. The stack registers exactly these; pure, imported by workflows.
 */

/** Temporal search-attribute value types used here (names as the `temporal` CLI spells them). */
export type SearchAttributeKind = 'Keyword' | 'Text' | 'Int' | 'Datetime';

/** Name → type of every custom search attribute dbops uses. */
export const SEARCH_ATTRIBUTES = {
  /** Which kind of job: `check`, `migration`, `backup`, `restore`, `assessment`. */
  DbopsKind: 'Keyword',
  /** The current phase, as in the workflow's `progress` query. */
  DbopsPhase: 'Keyword',
  /** The connection names or redacted URLs the job works on. */
  DbopsTargets: 'KeywordList',
} as const satisfies Record<string, SearchAttributeKind | 'KeywordList'>;

/** Names of the custom search attributes. */
export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

/** `--search-attribute` arguments for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  return Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, kind]) => ['--search-attribute', `${name}=${kind}`]);
}
