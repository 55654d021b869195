import { UsageError } from '../errors.js';
import { STATUS_ALIASES, type SessionQuery } from '../sessions/session-query.js';
import { parseCount, parseTimeBound } from './time-flags.js';

/** `sessions list` flags → a query; each bad value is a usage error naming it and what is allowed. Pure. */
export function parseListQuery(
  flags: { status?: string; since?: string; until?: string; limit: string; offset: string },
  now: Date,
): SessionQuery {
  const status = flags.status !== undefined && Object.hasOwn(STATUS_ALIASES, flags.status) ? STATUS_ALIASES[flags.status] : undefined;
  if (flags.status !== undefined && status === undefined) {
    throw new UsageError(
      `--status ${JSON.stringify(flags.status)} is not allowed: use ${Object.keys(STATUS_ALIASES).join(', ')} (active and recording are the same)`,
    );
  }
  return {
    ...(status === undefined ? {} : { status }),
    ...(flags.since === undefined ? {} : { since: parseTimeBound(flags.since, '--since', now) }),
    ...(flags.until === undefined ? {} : { until: parseTimeBound(flags.until, '--until', now) }),
    limit: parseCount(flags.limit, '--limit', 1),
    offset: parseCount(flags.offset, '--offset', 0),
  };
}
