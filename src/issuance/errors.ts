/**
 * Typed refusals. Every throw in src/issuance, src/profiles and src/ca is an IssuanceError with a
 * reason code from one closed set; each protocol maps the code to its own native error with a
 * table (protocols/acme/problems.ts, protocols/emca/service.ts, protocols/ocsp/service.ts, the
 * admin JSON below) — never by matching message text. `rule` refines a code where a protocol
 * distinguishes more (e.g. `policy` + `keys.rsa` → ACME badPublicKey; `lint.<name>`).
 * Messages are written for the client: they name the rule broken and never carry secrets.
 */

/**
 * The closed set of reason codes.
 *
 * Issuance refusals (the pipeline contract, DESIGN.md):
 * - `badCsr`: the PKCS#10 request (or other key container) cannot be parsed.
 * - `badPop`: its signature does not verify: no proof of possession of the private key.
 * - `policy`: a profile or lint rule refuses the request; `rule` names it (`san.dns.wildcard`,
 *   `keys.rsa`, `subject.CN.required`, `lint.ec.keyUsage`, …).
 * - `unknownProfile`: no profile of that name.
 * - `forbiddenProfile`: the profile exists but this principal may not use it (allow-list, a system
 *   profile asked for by a protocol client, a disabled profile).
 * - `notAuthorizedForIdentifier`: a SAN (or a host-like CN) the principal has not proven control of.
 * - `validity`: the requested validity is malformed or impossible; `rule` says which part.
 * - `duplicateKey`: the public key is already certified (profile rule) or a re-key kept the old key.
 * - `issuerUnavailable`: the issuer is unknown, retired or expired (the client may retry later).
 * - `pending`: the request waits for an officer; not issued now.
 * - `rateLimited`: too many requests; retry later.
 * - `internal`: the server failed (storage after retries, a broken profile); never the client's fault.
 *
 * Operation refusals (revocation, approval, administration share the same class):
 * - `malformed`: input that is not a CSR is malformed (a DN, a SAN's syntax, a serial, a reason).
 * - `notFound`: the certificate, request or object named does not exist.
 * - `conflict`: the object's state forbids the change (already revoked, being approved, exists).
 * - `unauthorized`: no or bad credentials.
 * - `forbidden`: the credentials' role may not do this.
 */
export const reasonCodes = [
  'badCsr',
  'badPop',
  'policy',
  'unknownProfile',
  'forbiddenProfile',
  'notAuthorizedForIdentifier',
  'validity',
  'duplicateKey',
  'issuerUnavailable',
  'pending',
  'rateLimited',
  'internal',
  'malformed',
  'notFound',
  'conflict',
  'unauthorized',
  'forbidden',
] as const;
export type ReasonCode = (typeof reasonCodes)[number];
/** Kept for callers that named the old type. */
export type IssuanceErrorCode = ReasonCode;

/**
 * The JSON API's view of each code (admin API, OCSP management, emCA admin): HTTP status and the
 * `error` name those bodies have always carried (kept so existing clients keep working).
 */
export const adminErrorFor: Record<ReasonCode, { status: 400 | 401 | 403 | 404 | 409 | 429 | 500 | 503; error: string }> = {
  badCsr: { status: 400, error: 'BadCsr' },
  badPop: { status: 400, error: 'BadCsr' },
  policy: { status: 403, error: 'ProfileViolation' },
  unknownProfile: { status: 404, error: 'NotFound' },
  forbiddenProfile: { status: 403, error: 'Forbidden' },
  notAuthorizedForIdentifier: { status: 403, error: 'ProfileViolation' },
  validity: { status: 400, error: 'BadRequest' },
  duplicateKey: { status: 409, error: 'Conflict' },
  issuerUnavailable: { status: 503, error: 'Unavailable' },
  pending: { status: 409, error: 'Pending' },
  rateLimited: { status: 429, error: 'RateLimited' },
  internal: { status: 500, error: 'InternalError' },
  malformed: { status: 400, error: 'BadRequest' },
  notFound: { status: 404, error: 'NotFound' },
  conflict: { status: 409, error: 'Conflict' },
  unauthorized: { status: 401, error: 'Unauthorized' },
  forbidden: { status: 403, error: 'Forbidden' },
};

/** HTTP status a JSON API uses for each code. */
export const httpStatusFor: Record<ReasonCode, number> = Object.fromEntries(
  reasonCodes.map((c) => [c, adminErrorFor[c].status]),
) as Record<ReasonCode, number>;

export class IssuanceError extends Error {
  constructor(
    readonly code: ReasonCode,
    message: string,
    /** The profile, lint or policy rule that was broken, e.g. `san.dns.wildcard`, `lint.ec.keyUsage`. */
    readonly rule?: string,
  ) {
    super(message);
    this.name = adminErrorFor[code].error;
  }
}

// Thin subclasses: the spellings the code base grew up with, each fixed to one code.
export class BadRequest extends IssuanceError {
  constructor(message: string, rule?: string) { super('malformed', message, rule); }
}
export class BadCsr extends IssuanceError {
  constructor(message: string, rule?: string) { super('badCsr', message, rule); }
}
export class ProfileViolation extends IssuanceError {
  constructor(rule: string, message: string) { super('policy', message, rule); }
}
export class Unauthorized extends IssuanceError {
  constructor(message: string) { super('unauthorized', message); }
}
export class Forbidden extends IssuanceError {
  constructor(message: string, rule?: string) { super('forbidden', message, rule); }
}
export class NotFound extends IssuanceError {
  constructor(message: string) { super('notFound', message); }
}
export class Conflict extends IssuanceError {
  constructor(message: string, rule?: string) { super('conflict', message, rule); }
}
export class Unavailable extends IssuanceError {
  constructor(message: string) { super('issuerUnavailable', message); }
}

export function isIssuanceError(e: unknown): e is IssuanceError {
  return e instanceof IssuanceError;
}

// ── suggested native mappings for the protocols being written ────────────────────────────────

/** SCEP (RFC 8894 §3.2.1.4.5) failInfo values. */
export type ScepFailInfo = 'badAlg' | 'badMessageCheck' | 'badRequest' | 'badTime' | 'badCertId';

/**
 * SCEP: a refused PKCSReq / RenewalReq answers pkiStatus FAILURE with this failInfo; `pending`
 * answers pkiStatus PENDING instead (CertPoll), and `rateLimited`/`issuerUnavailable`/`internal`
 * are best answered FAILURE badRequest (SCEP has no "try later").
 * badAlg: the key or algorithm; badMessageCheck: the signature (POP) does not verify;
 * badTime: the validity; badCertId: a certificate named by the client does not exist.
 */
export const scepFailInfoFor: Record<ReasonCode, ScepFailInfo | 'PENDING'> = {
  badCsr: 'badRequest',
  badPop: 'badMessageCheck',
  policy: 'badRequest',
  unknownProfile: 'badRequest',
  forbiddenProfile: 'badRequest',
  notAuthorizedForIdentifier: 'badRequest',
  validity: 'badTime',
  duplicateKey: 'badRequest',
  issuerUnavailable: 'badRequest',
  pending: 'PENDING',
  rateLimited: 'badRequest',
  internal: 'badRequest',
  malformed: 'badRequest',
  notFound: 'badCertId',
  conflict: 'badRequest',
  unauthorized: 'badMessageCheck',
  forbidden: 'badRequest',
};
/** `policy` rules that SCEP reports as badAlg rather than badRequest. */
export const scepBadAlgRule = (rule: string | undefined) => !!rule && (rule.startsWith('keys.') || rule === 'keys');

/**
 * CMP PKIFailureInfo (RFC 9810 §5.2.3) bit numbers. The PKIStatus is `rejection` (2) except
 * `pending` → status `waiting` (3, answer with pollRep), and `rateLimited` / `issuerUnavailable`
 * → rejection with systemUnavail (and a Retry-After where the transport allows).
 */
export const cmpFailBit = {
  badAlg: 0,
  badMessageCheck: 1,
  badRequest: 2,
  badTime: 3,
  badCertId: 4,
  badDataFormat: 5,
  wrongAuthority: 6,
  incorrectData: 7,
  missingTimeStamp: 8,
  badPOP: 9,
  certRevoked: 10,
  certConfirmed: 11,
  wrongIntegrity: 12,
  badRecipientNonce: 13,
  timeNotAvailable: 14,
  unacceptedPolicy: 15,
  unacceptedExtension: 16,
  addInfoNotAvailable: 17,
  badSenderNonce: 18,
  badCertTemplate: 19,
  signerNotTrusted: 20,
  transactionIdInUse: 21,
  unsupportedVersion: 22,
  notAuthorized: 23,
  systemUnavail: 24,
  systemFailure: 25,
  duplicateCertReq: 26,
} as const;
export type CmpFailInfo = keyof typeof cmpFailBit;

export const cmpFailInfoFor: Record<ReasonCode, CmpFailInfo | 'waiting'> = {
  badCsr: 'badDataFormat',
  badPop: 'badPOP',
  policy: 'badCertTemplate',
  unknownProfile: 'unacceptedPolicy',
  forbiddenProfile: 'notAuthorized',
  notAuthorizedForIdentifier: 'notAuthorized',
  validity: 'badTime',
  duplicateKey: 'badCertTemplate',
  issuerUnavailable: 'systemUnavail',
  pending: 'waiting',
  rateLimited: 'systemUnavail',
  internal: 'systemFailure',
  malformed: 'badDataFormat',
  notFound: 'badCertId',
  conflict: 'badRequest',
  unauthorized: 'notAuthorized',
  forbidden: 'notAuthorized',
};
/** `policy` rules that CMP reports as badAlg (the key) rather than badCertTemplate. */
export const cmpBadAlgRule = scepBadAlgRule;

/**
 * EST (RFC 7030 §4.2.3): HTTP status with a text/plain body. `pending` is 202 with Retry-After;
 * `rateLimited` 429 and `issuerUnavailable` 503 carry Retry-After too.
 */
export const estStatusFor: Record<ReasonCode, 202 | 400 | 401 | 403 | 404 | 409 | 429 | 500 | 503> = {
  badCsr: 400,
  badPop: 400,
  policy: 403,
  unknownProfile: 404,
  forbiddenProfile: 403,
  notAuthorizedForIdentifier: 403,
  validity: 400,
  duplicateKey: 409,
  issuerUnavailable: 503,
  pending: 202,
  rateLimited: 429,
  internal: 500,
  malformed: 400,
  notFound: 404,
  conflict: 409,
  unauthorized: 401,
  forbidden: 403,
};

/** A unique-constraint violation (23505) as a Conflict (409) with `message`, on both drivers. */
export async function conflictOnDuplicate<T>(fn: () => Promise<T>, message: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const code = (e as { code?: string; cause?: { code?: string } }).code ?? (e as { cause?: { code?: string } }).cause?.code;
    if (code === '23505') throw new Conflict(message);
    throw e;
  }
}
