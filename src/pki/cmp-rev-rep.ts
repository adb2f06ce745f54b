/**
 * RevRepContent (RFC 9810 §5.3.10): the rp body.
 *
 *   RevRepContent ::= SEQUENCE {
 *     status   SEQUENCE SIZE (1..MAX) OF PKIStatusInfo,
 *     revCerts [0] SEQUENCE SIZE (1..MAX) OF CertId OPTIONAL,
 *     crls     [1] SEQUENCE SIZE (1..MAX) OF CertificateList OPTIONAL }
 */
import { Tag, childList, explicit, readTlv, seq, type Tlv } from './der.ts';
import { decodeStatusInfo, encodeStatusInfo, type PKIStatusInfo } from './cmp-status-info.ts';
import { decodeCertId, encodeCertId, type CertId } from './crmf-cert-id.ts';

export interface RevRepContent {
  status: PKIStatusInfo[];
  revCerts?: CertId[];
}

export function decodeRevRepContent(buf: Uint8Array, t: Tlv): RevRepContent {
  if (t.tag !== Tag.SEQUENCE) throw new Error('RevRepContent: not a SEQUENCE');
  const f = childList(buf, t);
  if (!f[0] || f[0].tag !== Tag.SEQUENCE) throw new Error('RevRepContent: status missing');
  const out: RevRepContent = { status: childList(buf, f[0]).map((s) => decodeStatusInfo(buf, s)) };
  for (const x of f.slice(1)) {
    if (x.tag === 0xa0) out.revCerts = childList(buf, readTlv(buf, x.start)).map((c) => decodeCertId(buf, c));
  }
  return out;
}

export function encodeRevRepContent(r: RevRepContent): Buffer {
  const parts = [seq(...r.status.map(encodeStatusInfo))];
  if (r.revCerts?.length) parts.push(explicit(0, seq(...r.revCerts.map(encodeCertId))));
  return seq(...parts);
}
