import { ConnectionException } from '@mikro-orm/core';

/**
 * SQLSTATEs and socket errors that mean «the database cannot serve this now»: connection (08),
 * shutdown (57P01–03), insufficient resources (53: disk full, out of memory, too many
 * connections), a read-only server (25006: a replica, a failover in progress, a full disk guard),
 * and a statement cancelled by `statement_timeout` (57014).
 */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53|25006$|57014$)/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
]);

/** Whether an error (or what it wraps) means the database is unusable right now, not a bug. */
export function isDatabaseUnavailable(exception: unknown): boolean {
  for (let error = exception, depth = 0; error && depth < 4; depth += 1) {
    if (error instanceof ConnectionException) return true;
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (
      typeof code === 'string' &&
      (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))
    )
      return true;
    if (
      typeof message === 'string' &&
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/i.test(
        message,
      )
    )
      return true;
    error = (error as { cause?: unknown }).cause;
  }
  return false;
}
