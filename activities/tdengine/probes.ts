/**
 * The POC's three time-range queries asked of the TDengine source itself, over REST, so the report can set
 * PostgreSQL's figures beside the source's: the last hour of one device, one day in hourly buckets per
 * device, and a count of the whole table. Read-only; timings include the REST round trip, as an
 * application would see them.
 */
import { percentiles } from '../../common/assessment/percentiles';
import { TdengineRest, type TdengineEndpoint } from './rest';

/** One probe's timing on the source. */
export interface SourceProbe {
  name: string;
  sql: string;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  rows: number;
}

/** Runs the POC's probes `runs` times each on `db.stable`, partitioned by `deviceTag`. */
export async function tdengineTimeRangeProbes(
  endpoint: TdengineEndpoint,
  db: string,
  stable: string,
  deviceTag: string,
  runs: number,
): Promise<SourceProbe[]> {
  const client = new TdengineRest(endpoint);
  const table = `\`${db}\`.\`${stable}\``;
  const tag = `\`${deviceTag}\``;
  const first = await client.query(`SELECT ${tag} FROM ${table} LIMIT 1`);
  const device = first.rows[0]?.[deviceTag];
  const literal = typeof device === 'number' ? String(device) : `'${String(device ?? '').replace(/'/g, "''")}'`;
  const probes = [
    { name: 'last_hour_one_device', sql: `SELECT * FROM ${table} WHERE ${tag} = ${literal} AND ts >= NOW - 1h` },
    {
      name: 'day_hourly_by_device',
      sql: `SELECT _wstart, ${tag}, COUNT(*) FROM ${table} WHERE ts >= NOW - 1d PARTITION BY ${tag} INTERVAL(1h)`,
    },
    { name: 'full_range_count', sql: `SELECT COUNT(*) FROM ${table}` },
  ];
  const results: SourceProbe[] = [];
  for (const probe of probes) {
    const durations: number[] = [];
    let rows = 0;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const result = await client.query(probe.sql);
      durations.push(performance.now() - started);
      rows = result.rows.length;
    }
    const p = percentiles(durations);
    results.push({ ...probe, p50Ms: p.p50, p95Ms: p.p95, p99Ms: p.p99, rows });
  }
  return results;
}
