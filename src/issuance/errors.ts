/**
 * Typed issuance errors. Every protocol maps these onto its own native error
 * (ACME problem, SCEP failInfo, CMP PKIFailureInfo, EST status, emCA envelope, OCSP status).
 * Messages are written for the client: they name the rule broken and never carry secrets.
 */
export type IssuanceErrorCode =
  | 'BadRequest'
  | 'BadCsr'
  | 'ProfileViolation'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'Conflict'
  | 'Unavailable';

export class IssuanceError extends Error {
  constructor(
    readonly code: IssuanceErrorCode,
    message: string,
    /** The profile or policy rule that was broken, e.g. `san.dns.wildcard`. */
    readonly rule?: string,
  ) {
    super(message);
    this.name = code;
  }
}

export class BadRequest extends IssuanceError {
  constructor(message: string, rule?: string) { super('BadRequest', message, rule); }
}
export class BadCsr extends IssuanceError {
  constructor(message: string, rule?: string) { super('BadCsr', message, rule); }
}
export class ProfileViolation extends IssuanceError {
  constructor(rule: string, message: string) { super('ProfileViolation', message, rule); }
}
export class Unauthorized extends IssuanceError {
  constructor(message: string) { super('Unauthorized', message); }
}
export class Forbidden extends IssuanceError {
  constructor(message: string, rule?: string) { super('Forbidden', message, rule); }
}
export class NotFound extends IssuanceError {
  constructor(message: string) { super('NotFound', message); }
}
export class Conflict extends IssuanceError {
  constructor(message: string, rule?: string) { super('Conflict', message, rule); }
}
export class Unavailable extends IssuanceError {
  constructor(message: string) { super('Unavailable', message); }
}

export function isIssuanceError(e: unknown): e is IssuanceError {
  return e instanceof IssuanceError;
}

/** HTTP status a JSON API (admin, emCA V5) uses for each code. */
export const httpStatusFor: Record<IssuanceErrorCode, 400 | 401 | 403 | 404 | 409 | 503> = {
  BadRequest: 400,
  BadCsr: 400,
  ProfileViolation: 403,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  Unavailable: 503,
};
