/**
 * The attributes of a PKCS#10 CertificationRequestInfo (RFC 2986 §4.1), all of them as DER — for
 * attributes parseCsr does not interpret (e.g. RFC 7030 §4.4.2's DecryptKeyIdentifier):
 *
 *   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature }
 *   CertificationRequestInfo ::= SEQUENCE {
 *        version       INTEGER { v1(0) },
 *        subject       Name,
 *        subjectPKInfo SubjectPublicKeyInfo,
 *        attributes    [0] Attributes }
 *   Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET SIZE(1..MAX) OF ANY }
 */
import { Tag, childList, readOid, readTlv, tlvBytes } from './der.ts';

export function csrRequestAttributes(csrDer: Uint8Array): { type: string; values: Buffer[] }[] {
  const outer = readTlv(csrDer, 0);
  const info = childList(csrDer, outer)[0];
  if (!info || info.tag !== Tag.SEQUENCE) throw new Error('PKCS#10: no CertificationRequestInfo');
  const attrs = childList(csrDer, info)[3];
  if (!attrs || attrs.tag !== 0xa0) return [];
  return childList(csrDer, attrs).map((a) => {
    const [type, values] = childList(csrDer, a);
    if (!type || values?.tag !== Tag.SET) throw new Error('PKCS#10: malformed Attribute');
    return { type: readOid(csrDer, type), values: childList(csrDer, values).map((v) => Buffer.from(tlvBytes(csrDer, v))) };
  });
}
