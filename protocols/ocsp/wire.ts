/**
 * The responder's wire side: reading an OCSPRequest, the unsigned error responses (RFC 6960
 * §4.2.1), and the key under which an issuer is found from a CertID's hashes.
 */
import { isIssuanceError, type ReasonCode } from '../../src/issuance/errors.ts';
import { OcspRequestError, parseOcspRequest, type OcspRequest } from '../../src/pki/ocsp-request.ts';
import { ocspErrorResponse } from '../../src/pki/ocsp-response.ts';

export const MALFORMED = ocspErrorResponse('malformedRequest');
export const UNAUTHORIZED = ocspErrorResponse('unauthorized');
export const INTERNAL = ocspErrorResponse('internalError');
export const TRY_LATER = ocspErrorResponse('tryLater');

/** The CertID hash algorithms answered. */
export const HASH_NAMES = ['sha1', 'sha256', 'sha384', 'sha512'] as const;

/** Issuer lookup key: hash algorithm, issuerNameHash and issuerKeyHash of a CertID. */
export function hashKey(h: string, name: Buffer, key: Buffer): string {
  return h + name.toString('latin1') + key.toString('latin1');
}

/**
 * A DER OCSPRequest decoded, or undefined when malformed (`onUnexpected` hears of failures
 * that are not the decoder's own refusals, for debugging).
 */
export function readRequest(der: Buffer, maxRequests: number, onUnexpected: (e: unknown) => void): OcspRequest | undefined {
  try {
    return parseOcspRequest(der, maxRequests);
  } catch (e) {
    if (!(e instanceof OcspRequestError)) onUnexpected(e);
    return undefined;
  }
}

/**
 * Pipeline reason code → OCSP response status (RFC 6960 §4.2.1) when an answer cannot be built:
 * an issuer or the store that is unavailable is tryLater; anything else that reaches here is ours.
 * (A malformed request never gets this far: it is malformedRequest at decoding.)
 */
export const ocspStatusFor: Record<ReasonCode, 'malformedRequest' | 'internalError' | 'tryLater'> = {
  badCsr: 'malformedRequest',
  badPop: 'malformedRequest',
  policy: 'internalError',
  unknownProfile: 'internalError',
  forbiddenProfile: 'internalError',
  notAuthorizedForIdentifier: 'internalError',
  validity: 'internalError',
  duplicateKey: 'internalError',
  issuerUnavailable: 'tryLater',
  pending: 'tryLater',
  rateLimited: 'tryLater',
  internal: 'internalError',
  malformed: 'malformedRequest',
  notFound: 'internalError',
  conflict: 'internalError',
  unauthorized: 'internalError',
  forbidden: 'internalError',
};

const statusResponses = { malformedRequest: MALFORMED, internalError: INTERNAL, tryLater: TRY_LATER };

/** The OCSP error response for an error met while answering. */
export function errorResponseFor(e: unknown): Buffer {
  return isIssuanceError(e) ? statusResponses[ocspStatusFor[e.code]] : INTERNAL;
}
