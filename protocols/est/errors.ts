import { estStatusFor, type IssuanceError } from '../../src/issuance/errors.ts';

/**
 * An EST refusal: an HTTP status with a plain-text reason (RFC 7030 §4.2.3: "the content …
 * SHOULD be a text/plain human-readable error message"). Never carries a secret.
 */
export class EstError extends Error {
  constructor(
    readonly status: 202 | 400 | 401 | 403 | 404 | 409 | 429 | 500 | 503,
    message: string,
    /** Extra response headers, e.g. WWW-Authenticate on 401, Retry-After on 503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The pipeline's typed refusal as EST answers it (src/issuance/errors.ts's table, never the message text). */
export function fromIssuanceError(e: IssuanceError, retryAfter: number): EstError {
  const status = estStatusFor[e.code];
  const headers: Record<string, string> = status === 202 || status === 429 || status === 503 ? { 'Retry-After': String(retryAfter) } : {};
  // An internal failure's message is for the log, not the client.
  return new EstError(status, e.code === 'internal' ? 'internal error' : e.message, headers);
}
