import type { IssuanceErrorCode } from '../../src/issuance/errors.ts';
import type { FailInfo } from '../../src/pki/cmp-status-info.ts';

/**
 * A refusal answered with an `error` PKIMessage (RFC 9810 §5.3.21): PKIStatus rejection, one
 * failInfo bit, a message for the client (never a secret).
 */
export class CmpFailure extends Error {
  constructor(
    readonly failInfo: FailInfo,
    message: string,
    /** When false, the answer cannot be MAC-protected with the sender's secret (unknown or wrong). */
    readonly senderTrusted = true,
  ) {
    super(message);
    this.name = 'CmpFailure';
  }
}

/** The pipeline's typed refusals → PKIFailureInfo (a table, never message text). */
export const failInfoFor: Record<IssuanceErrorCode, FailInfo> = {
  BadRequest: 'badRequest',
  BadCsr: 'badPOP',
  ProfileViolation: 'badCertTemplate',
  Unauthorized: 'notAuthorized',
  Forbidden: 'notAuthorized',
  NotFound: 'badCertId',
  Conflict: 'duplicateCertReq',
  Unavailable: 'systemUnavail',
};
