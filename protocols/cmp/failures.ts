import { cmpBadAlgRule, cmpFailInfoFor, type IssuanceError } from '../../src/issuance/errors.ts';
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

/**
 * The pipeline's typed refusals → PKIFailureInfo, by the table in src/issuance/errors.ts (never
 * by message text). A key rule of a policy refusal is badAlg; `pending` is never thrown (the
 * pipeline returns it), so it has no failInfo of its own here.
 */
export function failInfoForError(e: IssuanceError): FailInfo {
  if (e.code === 'policy' && cmpBadAlgRule(e.rule)) return 'badAlg';
  const f = cmpFailInfoFor[e.code];
  return f === 'waiting' ? 'badRequest' : f;
}
