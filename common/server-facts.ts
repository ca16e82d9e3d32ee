/** What a reachability check learns about a database server. */
export interface ServerFacts {
  /** Server version as the server reports it. */
  version: string;
  /** Database (or Redis db index, or file) the connection points at. */
  database: string;
  /** Size of that database on disk in bytes, when the server tells. */
  sizeBytes?: number;
}
