/**
 * CertConfirmContent and CertStatus (RFC 9810 §5.3.18): the certConf body.
 *
 *   CertConfirmContent ::= SEQUENCE OF CertStatus
 *   CertStatus ::= SEQUENCE {
 *     certHash   OCTET STRING,
 *     certReqId  INTEGER,
 *     statusInfo PKIStatusInfo OPTIONAL,
 *     hashAlg    [0] AlgorithmIdentifier OPTIONAL }   -- cmp2021 (pvno 3) only
 */
import { Tag, childList, decodeInteger, explicit, integer, octetString, readTlv, seq, type Tlv } from './der.ts';
import { decodeAlgorithmIdentifier, encodeAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm-identifier.ts';
import { decodeStatusInfo, encodeStatusInfo, type PKIStatusInfo } from './cmp-status-info.ts';

export interface CertStatus {
  certHash: Buffer;
  certReqId: bigint;
  statusInfo?: PKIStatusInfo;
  hashAlg?: AlgorithmIdentifier;
}

export function decodeCertConfirmContent(buf: Uint8Array, t: Tlv): CertStatus[] {
  if (t.tag !== Tag.SEQUENCE) throw new Error('CertConfirmContent: not a SEQUENCE');
  const list = childList(buf, t);
  if (list.length > 8) throw new Error('CertConfirmContent: too many entries');
  return list.map((s) => {
    const f = childList(buf, s);
    if (s.tag !== Tag.SEQUENCE || f.length < 2 || f[0].tag !== Tag.OCTET_STRING || f[1].tag !== Tag.INTEGER || f[1].length > 8) {
      throw new Error('CertStatus: malformed');
    }
    const out: CertStatus = { certHash: Buffer.from(buf.subarray(f[0].start, f[0].end)), certReqId: decodeInteger(buf, f[1].start, f[1].end) };
    for (const x of f.slice(2)) {
      if (x.tag === Tag.SEQUENCE && !out.statusInfo && !out.hashAlg) out.statusInfo = decodeStatusInfo(buf, x);
      else if (x.tag === 0xa0 && !out.hashAlg) out.hashAlg = decodeAlgorithmIdentifier(buf, readTlv(buf, x.start));
      else throw new Error('CertStatus: unexpected field');
    }
    return out;
  });
}

export function encodeCertConfirmContent(list: CertStatus[]): Buffer {
  return seq(
    ...list.map((s) => {
      const parts = [octetString(s.certHash), integer(s.certReqId)];
      if (s.statusInfo) parts.push(encodeStatusInfo(s.statusInfo));
      if (s.hashAlg) parts.push(explicit(0, encodeAlgorithmIdentifier(s.hashAlg)));
      return seq(...parts);
    }),
  );
}
