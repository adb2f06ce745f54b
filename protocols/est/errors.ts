import type { IssuanceErrorCode } from '../../src/issuance/errors.ts';

/**
 * An EST refusal: an HTTP status with a plain-text reason (RFC 7030 §4.2.3: "the content …
 * SHOULD be a text/plain human-readable error message"). Never carries a secret.
 */
export class EstError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 415 | 503,
    message: string,
    /** Extra response headers, e.g. WWW-Authenticate on 401. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The pipeline's typed refusals as EST statuses (a table, never a match on message text). */
export const estStatusFor: Record<IssuanceErrorCode, EstError['status']> = {
  BadRequest: 400,
  BadCsr: 400,
  ProfileViolation: 403,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  Unavailable: 503,
};
