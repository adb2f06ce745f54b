/**
 * RFC 8555 §6.7 problem documents (RFC 7807 bodies) with ACME error types and subproblems.
 */
import type { Identifier } from '../../src/issuance/request.ts';
import type { IssuanceError, ReasonCode } from '../../src/issuance/errors.ts';

export type ProblemType =
  | 'accountDoesNotExist'
  | 'alreadyRevoked'
  | 'badCSR'
  | 'badNonce'
  | 'badPublicKey'
  | 'badRevocationReason'
  | 'badSignatureAlgorithm'
  | 'caa'
  | 'compound'
  | 'connection'
  | 'dns'
  | 'externalAccountRequired'
  | 'incorrectResponse'
  | 'invalidContact'
  | 'malformed'
  | 'orderNotReady'
  | 'rateLimited'
  | 'rejectedIdentifier'
  | 'serverInternal'
  | 'tls'
  | 'unauthorized'
  | 'unsupportedContact'
  | 'unsupportedIdentifier'
  | 'userActionRequired'
  | 'invalidProfile'
  | 'alreadyReplaced';

export interface ProblemJson {
  type: string;
  detail: string;
  status?: number;
  identifier?: Identifier;
  subproblems?: ProblemJson[];
  algorithms?: string[];
}

const defaultStatus: Partial<Record<ProblemType, number>> = {
  accountDoesNotExist: 400,
  alreadyRevoked: 400,
  badNonce: 400,
  orderNotReady: 403,
  rateLimited: 429,
  serverInternal: 500,
  unauthorized: 403,
  userActionRequired: 403,
  externalAccountRequired: 403,
  rejectedIdentifier: 400,
  alreadyReplaced: 409,
};

export const problemUrn = (t: ProblemType) => `urn:ietf:params:acme:error:${t}`;

/** A problem to answer with; thrown anywhere below a route and rendered by the router. */
export class AcmeProblem extends Error {
  readonly status: number;
  readonly headers: Record<string, string> = {};
  constructor(
    readonly type: ProblemType,
    readonly detail: string,
    opts: { status?: number; subproblems?: ProblemJson[]; identifier?: Identifier; algorithms?: string[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.status = opts.status ?? defaultStatus[type] ?? 400;
    this.subproblems = opts.subproblems;
    this.identifier = opts.identifier;
    this.algorithms = opts.algorithms;
    if (opts.headers) this.headers = opts.headers;
  }
  subproblems?: ProblemJson[];
  identifier?: Identifier;
  algorithms?: string[];

  toJSON(): ProblemJson {
    const j: ProblemJson = { type: problemUrn(this.type), detail: this.detail, status: this.status };
    if (this.identifier) j.identifier = this.identifier;
    if (this.subproblems?.length) j.subproblems = this.subproblems;
    if (this.algorithms) j.algorithms = this.algorithms;
    return j;
  }
}

export const problem = (type: ProblemType, detail: string, opts?: ConstructorParameters<typeof AcmeProblem>[2]) => new AcmeProblem(type, detail, opts);

export function subproblem(type: ProblemType, detail: string, identifier: { type: string; value: string }): ProblemJson {
  return { type: problemUrn(type), detail, identifier: identifier as Identifier };
}

/**
 * Pipeline reason code → ACME problem type (RFC 8555 §6.7) and HTTP status. `policy` is refined by
 * its rule (a typed field, not the message): key rules are badPublicKey, lint rules badCSR.
 */
export const problemFor: Record<ReasonCode, { type: ProblemType; status?: number }> = {
  badCsr: { type: 'badCSR' },
  badPop: { type: 'badCSR' },
  policy: { type: 'rejectedIdentifier' },
  unknownProfile: { type: 'invalidProfile' },
  forbiddenProfile: { type: 'invalidProfile' },
  notAuthorizedForIdentifier: { type: 'unauthorized' },
  validity: { type: 'malformed' },
  duplicateKey: { type: 'badCSR' },
  issuerUnavailable: { type: 'serverInternal', status: 503 },
  pending: { type: 'serverInternal', status: 503 },
  rateLimited: { type: 'rateLimited' },
  internal: { type: 'serverInternal' },
  malformed: { type: 'malformed' },
  notFound: { type: 'malformed', status: 404 },
  conflict: { type: 'malformed', status: 409 },
  unauthorized: { type: 'unauthorized' },
  forbidden: { type: 'unauthorized' },
};

/** Maps a pipeline error onto the ACME problem a client understands. */
export function fromIssuanceError(e: IssuanceError): AcmeProblem {
  if (e.code === 'policy' && (e.rule === 'keys' || e.rule?.startsWith('keys.') || e.rule === 'keyUsage.keyType')) return problem('badPublicKey', e.message);
  if (e.code === 'policy' && e.rule?.startsWith('lint.')) return problem('badCSR', e.message);
  const p = problemFor[e.code];
  return problem(p.type, e.message, p.status ? { status: p.status } : undefined);
}
