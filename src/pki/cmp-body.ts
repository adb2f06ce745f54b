/**
 * PKIBody (RFC 9810 §5.1.2): a CHOICE of EXPLICIT context tags. The content is kept as its raw
 * TLV; each body type has its own decoder (crmf-cert-req-messages.ts, cmp-cert-rep.ts, …).
 *
 *   PKIBody ::= CHOICE {
 *     ir [0] CertReqMessages,  ip [1] CertRepMessage,  cr [2] CertReqMessages,  cp [3] CertRepMessage,
 *     p10cr [4] CertificationRequest,  popdecc [5] POPODecKeyChallContent,  popdecr [6] POPODecKeyRespContent,
 *     kur [7] CertReqMessages,  kup [8] CertRepMessage,  krr [9] CertReqMessages,  krp [10] KeyRecRepContent,
 *     rr [11] RevReqContent,  rp [12] RevRepContent,  ccr [13] CertReqMessages,  ccp [14] CertRepMessage,
 *     ckuann [15] CAKeyUpdAnnContent,  cann [16] CertAnnContent,  rann [17] RevAnnContent,
 *     crlann [18] CRLAnnContent,  pkiconf [19] PKIConfirmContent,  nested [20] NestedMessageContent,
 *     genm [21] GenMsgContent,  genp [22] GenRepContent,  error [23] ErrorMsgContent,
 *     certConf [24] CertConfirmContent,  pollReq [25] PollReqContent,  pollRep [26] PollRepContent }
 *   PKIConfirmContent ::= NULL
 */
import { explicit, nullValue, readTlv, tlvBytes, type Tlv } from './der.ts';

export const bodyTypes = [
  'ir', 'ip', 'cr', 'cp', 'p10cr', 'popdecc', 'popdecr', 'kur', 'kup', 'krr', 'krp', 'rr', 'rp', 'ccr', 'ccp',
  'ckuann', 'cann', 'rann', 'crlann', 'pkiconf', 'nested', 'genm', 'genp', 'error', 'certConf', 'pollReq', 'pollRep',
] as const;
export type BodyType = (typeof bodyTypes)[number];

export interface PKIBody {
  type: BodyType;
  /** The content TLV inside the tag (whole encoding). */
  content: Buffer;
}

export function decodeBody(buf: Uint8Array, t: Tlv): PKIBody {
  const n = t.tag - 0xa0;
  if (n < 0 || n >= bodyTypes.length) throw new Error(`PKIBody: unknown body tag 0x${t.tag.toString(16)}`);
  const inner = readTlv(buf, t.start);
  if (inner.end !== t.end) throw new Error('PKIBody: trailing data');
  return { type: bodyTypes[n], content: Buffer.from(tlvBytes(buf, inner)) };
}

export function encodeBody(b: PKIBody): Buffer {
  return explicit(bodyTypes.indexOf(b.type), b.content);
}

/** pkiconf: PKIConfirmContent ::= NULL. */
export function pkiConfBody(): PKIBody {
  return { type: 'pkiconf', content: nullValue() };
}
