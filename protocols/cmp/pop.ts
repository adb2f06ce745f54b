/**
 * The CRMF request of an ir, cr or kur read once, while its MAC is checked: when the MAC key is not
 * cached, the POP signature goes to the crypto worker in the same trip as the MAC (checked there
 * only if the MAC holds), and enroll() reuses both the decoded request and that check.
 */
import type { DecodedPKIMessage } from '../../src/pki/cmp-message.ts';
import { decodeCertReqMessages, type CertReqMsg } from '../../src/pki/crmf-cert-req-messages.ts';
import { readTlv } from '../../src/pki/der.ts';
import type { SignatureCheck, SignatureInput } from '../../src/workers/crypto-jobs.ts';

/** What a MAC-authenticated sender's request already had checked. */
export interface CrmfPrefetch {
  reqs: CertReqMsg[];
  /** The POP signature's check, when the request had one to check. */
  pop?: SignatureCheck;
}

/** The decoded requests and the POP signature to check with the MAC; undefined when there is none to read. */
export function crmfToCheck(msg: DecodedPKIMessage): { reqs: CertReqMsg[]; pop?: SignatureInput } | undefined {
  const t = msg.body.type;
  if (t !== 'ir' && t !== 'cr' && t !== 'kur') return undefined;
  let reqs: CertReqMsg[];
  try {
    reqs = decodeCertReqMessages(msg.body.content, readTlv(msg.body.content));
  } catch {
    return undefined; // enroll() decodes again and answers badDataFormat
  }
  const m = reqs.length === 1 ? reqs[0] : undefined;
  const spki = m?.certReq.certTemplate.publicKey;
  const popo = m?.popo;
  if (!m || !spki || popo?.kind !== 'signature' || popo.poposkInput) return { reqs };
  return { reqs, pop: { spki, algorithm: popo.algorithm, data: m.certReqDer, signature: popo.signature } };
}
