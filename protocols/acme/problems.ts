/**
 * RFC 8555 §6.7 problem documents (RFC 7807 bodies) with ACME error types and subproblems.
 */
import type { Identifier } from '../../src/issuance/request.ts';
import { IssuanceError } from '../../src/issuance/errors.ts';

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

/** Maps a pipeline error onto the ACME problem a client understands. */
export function fromIssuanceError(e: IssuanceError): AcmeProblem {
  switch (e.code) {
    case 'BadCsr':
      return problem('badCSR', e.message);
    case 'ProfileViolation':
      if (e.rule?.startsWith('key')) return problem('badPublicKey', e.message);
      if (e.rule === 'authorization') return problem('unauthorized', e.message);
      if (e.rule === 'duplicateKey') return problem('badCSR', e.message);
      return problem('rejectedIdentifier', e.message);
    case 'BadRequest':
      return problem('malformed', e.message);
    case 'Unauthorized':
    case 'Forbidden':
      return problem('unauthorized', e.message);
    case 'NotFound':
      return problem('malformed', e.message, { status: 404 });
    case 'Conflict':
      return problem('malformed', e.message, { status: 409 });
    case 'Unavailable':
      return problem('serverInternal', e.message, { status: 503 });
  }
}
