/**
 * Chain validation CVCA → DV → terminal (TR-03110-3 §2.5 and C.4): each certificate's CAR names
 * the certificate that signed it; a CVCA signs CVCA link certificates and DV certificates, a DV
 * signs terminal certificates, a terminal signs none; the terminal type (CHAT OID) stays the same
 * down the chain; every certificate is within its dates; the effective authorisation is the AND of
 * the chain's CHATs; EC keys without domain parameters inherit the CVCA's.
 */
import type { CvCertificate } from './certificate.ts';
import { andRights, chatRights, chatRole, type CvRole } from './chat.ts';
import type { CvCurve } from './curves.ts';
import { cvDateValid } from './dates.ts';
import type { TerminalType } from './oids.ts';
import { curveOfParams, cvKeyObject } from './public-key.ts';
import { cvVerify } from './signature.ts';

export type CvChainFailure = 'unknown_car' | 'signature' | 'expired' | 'role' | 'terminal_type' | 'domain_parameters';

export class CvChainError extends Error {
  constructor(readonly reason: CvChainFailure, message: string, readonly chr?: string) {
    super(message);
    this.name = 'CvChainError';
  }
}

export interface CvChainResult {
  role: CvRole;
  terminalType: TerminalType;
  /** Effective authorisations (role bits cleared): the AND over the chain. */
  rights: Buffer;
  /** The domain parameters in force at the end of the chain. */
  curve?: CvCurve;
  /** Anchor first, then each certificate of the chain. */
  path: CvCertificate[];
}

const mayIssue: Record<CvRole, CvRole[]> = {
  cvca: ['cvca', 'dv_domestic', 'dv_foreign'],
  dv_domestic: ['terminal'],
  dv_foreign: ['terminal'],
  terminal: [],
};

/** The curve a CVCA certificate's own key names (TR-03110: a CVCA certificate carries the parameters). */
export function anchorCurve(cvca: CvCertificate): CvCurve | undefined {
  const p = cvca.body.publicKey.params;
  return p ? curveOfParams(p) : undefined;
}

/** Whether a self-signed CVCA certificate is in order (role, dates aside, own signature). */
export function verifySelfSigned(cvca: CvCertificate): boolean {
  const b = cvca.body;
  if (b.car !== b.chr || !b.chat || chatRole(b.chat) !== 'cvca') return false;
  try {
    return cvVerify(b.publicKey.algorithm, cvKeyObject(b.publicKey), cvca.bodyRaw, cvca.signature);
  } catch {
    return false;
  }
}

/**
 * Validates `chain` (top first, e.g. [DV, IS]) against trusted CVCA certificates. `anchors` are
 * trusted as given (self-signed or link certificates checked when stored). `now` null skips the
 * date rules (importing a certificate kept for the record, e.g. an expired one).
 */
export function validateCvChain(chain: CvCertificate[], anchors: CvCertificate[], now: Date | null): CvChainResult {
  if (chain.length === 0) throw new CvChainError('unknown_car', 'empty chain');
  const first = chain[0].body;
  const anchor = anchors.find((a) => a.body.chr === first.car) ?? (first.car === first.chr ? anchors.find((a) => a.der.equals(chain[0].der)) : undefined);
  if (!anchor) throw new CvChainError('unknown_car', `no trusted CVCA certificate ${first.car}`, first.chr);
  let signer = anchor;
  let curve = anchorCurve(anchor);
  if (!anchor.body.chat || chatRole(anchor.body.chat) !== 'cvca') throw new CvChainError('role', `${anchor.body.chr} is not a CVCA certificate`);
  if (now && !cvDateValid(anchor.body.effective!, anchor.body.expiration!, now)) throw new CvChainError('expired', `${anchor.body.chr} is not valid today`, anchor.body.chr);
  let rights = chatRights(anchor.body.chat);
  const path = [anchor];
  for (const cert of chain[0] === anchor || chain[0].der.equals(anchor.der) ? chain.slice(1) : chain) {
    const b = cert.body;
    const s = signer.body;
    if (b.car !== s.chr) throw new CvChainError('unknown_car', `${b.chr}: CAR ${b.car} is not ${s.chr}`, b.chr);
    const role = chatRole(b.chat!);
    if (!mayIssue[chatRole(s.chat!)].includes(role)) throw new CvChainError('role', `${s.chr} (${chatRole(s.chat!)}) may not issue a ${role} certificate`, b.chr);
    if (b.chat!.terminalType !== s.chat!.terminalType) throw new CvChainError('terminal_type', `${b.chr}: terminal type differs from its issuer's`, b.chr);
    const key = cvKeyObject(s.publicKey, curve);
    if (!cvVerify(s.publicKey.algorithm, key, cert.bodyRaw, cert.signature)) throw new CvChainError('signature', `${b.chr}: signature does not verify under ${s.chr}`, b.chr);
    if (now && !cvDateValid(b.effective!, b.expiration!, now)) throw new CvChainError('expired', `${b.chr} is not valid today`, b.chr);
    if (b.publicKey.params) {
      if (role !== 'cvca') throw new CvChainError('domain_parameters', `${b.chr}: only CVCA certificates carry domain parameters`, b.chr);
      curve = curveOfParams(b.publicKey.params);
    }
    rights = andRights(rights, chatRights(b.chat!));
    path.push(cert);
    signer = cert;
  }
  const last = signer.body.chat!;
  return { role: chatRole(last), terminalType: last.terminalType, rights, curve, path };
}
