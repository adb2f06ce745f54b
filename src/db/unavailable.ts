/**
 * Whether an error means "the database cannot be reached right now" — refused or dropped
 * connections, connect timeouts, a server shutting down or starting up, too many connections —
 * as opposed to a statement that failed. Such a request gets 503 (or its protocol's own "try
 * later") with Retry-After, never an answer that blames the client: a database outage must not
 * turn valid credentials into 401s. Walks the `cause` chain (drizzle wraps driver errors).
 */
export function isDatabaseUnavailable(e: unknown): boolean {
  for (let x = e, depth = 0; x && typeof x === 'object' && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    if (x instanceof DatabaseUnavailableError) return true;
    const { code, message } = x as { code?: unknown; message?: unknown };
    if (typeof code !== 'string') continue;
    if (connectionCodes.has(code)) return true;
    // A client aborting its upload is ECONNRESET "aborted" too, and is not the database's.
    if ((code === 'ECONNRESET' || code === 'EPIPE') && message !== 'aborted') return true;
    // SQLSTATE class 08 (connection exception); 57P01-57P03 (admin/crash shutdown, cannot connect now); 53300 (too many connections).
    if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code) || code === '53300') return true;
  }
  return false;
}

const connectionCodes = new Set([
  // postgres.js
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  // the socket
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** Thrown by a check that gave up waiting for the database (e.g. the readiness probe's deadline). */
export class DatabaseUnavailableError extends Error {
  readonly code = 'DatabaseUnavailable';
}

/** Seconds a client is told to wait (Retry-After) when the database is unavailable. */
export const DATABASE_RETRY_AFTER = 5;

/** `p`, or a DatabaseUnavailableError once `ms` have passed. */
export async function withDeadline<T>(p: Promise<T>, ms: number, what = 'the database did not answer'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new DatabaseUnavailableError(`${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
