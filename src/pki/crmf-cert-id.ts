/**
 * CertId (RFC 4211 §6.5), also the value of the id-regCtrl-oldCertID control (kur).
 *
 *   CertId ::= SEQUENCE { issuer GeneralName, serialNumber INTEGER }
 */
import { Tag, childList, integerFromBytes, seq, tlvBytes, type Tlv } from './der.ts';

export interface CertId {
  /** GeneralName DER. */
  issuer: Buffer;
  /** Serial INTEGER content octets. */
  serialNumber: Buffer;
}

export function decodeCertId(buf: Uint8Array, t: Tlv): CertId {
  if (t.tag !== Tag.SEQUENCE) throw new Error('CertId: not a SEQUENCE');
  const f = childList(buf, t);
  if (f.length !== 2 || f[1].tag !== Tag.INTEGER || f[1].length < 1 || f[1].length > 21) throw new Error('CertId: malformed');
  return { issuer: Buffer.from(tlvBytes(buf, f[0])), serialNumber: Buffer.from(buf.subarray(f[1].start, f[1].end)) };
}

export function encodeCertId(c: CertId): Buffer {
  return seq(c.issuer, integerFromBytes(c.serialNumber));
}
