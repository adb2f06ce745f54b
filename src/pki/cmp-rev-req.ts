/**
 * RevReqContent and RevDetails (RFC 9810 §5.3.9): the rr body.
 *
 *   RevReqContent ::= SEQUENCE OF RevDetails
 *   RevDetails ::= SEQUENCE { certDetails CertTemplate, crlEntryDetails Extensions OPTIONAL }
 *
 * The CRL reason is read from crlEntryDetails' reasonCode extension (id-ce-cRLReasons).
 */
import { Tag, childList, decodeInteger, enumerated, expectTlv, octetString, oid, readOid, seq, type Tlv } from './der.ts';
import { decodeCertTemplate, encodeCertTemplate, type CertTemplate } from './crmf-cert-template.ts';

const REASON_CODE = '2.5.29.21';

export interface RevDetails {
  certDetails: CertTemplate;
  /** CRLReason from crlEntryDetails, when given. */
  reason?: number;
}

function reasonOf(buf: Uint8Array, exts: Tlv): number | undefined {
  if (exts.tag !== Tag.SEQUENCE) throw new Error('RevDetails: crlEntryDetails is not a SEQUENCE');
  for (const e of childList(buf, exts)) {
    const f = childList(buf, e);
    if (f.length < 2 || readOid(buf, f[0]) !== REASON_CODE) continue;
    const v = f[f.length - 1];
    if (v.tag !== Tag.OCTET_STRING) throw new Error('RevDetails: malformed reasonCode');
    const en = expectTlv(buf, v.start, Tag.ENUMERATED, 'CRLReason');
    if (en.end !== v.end || en.length > 2) throw new Error('RevDetails: malformed reasonCode');
    return Number(decodeInteger(buf, en.start, en.end));
  }
  return undefined;
}

export function decodeRevReqContent(buf: Uint8Array, t: Tlv): RevDetails[] {
  if (t.tag !== Tag.SEQUENCE) throw new Error('RevReqContent: not a SEQUENCE');
  const list = childList(buf, t);
  if (list.length < 1 || list.length > 8) throw new Error('RevReqContent: wrong number of entries');
  return list.map((d) => {
    const f = childList(buf, d);
    if (d.tag !== Tag.SEQUENCE || f.length < 1 || f.length > 2) throw new Error('RevDetails: malformed');
    return { certDetails: decodeCertTemplate(buf, f[0]), reason: f[1] ? reasonOf(buf, f[1]) : undefined };
  });
}

export function encodeRevReqContent(list: RevDetails[]): Buffer {
  return seq(
    ...list.map((d) => {
      const parts = [encodeCertTemplate(d.certDetails)];
      if (d.reason !== undefined) parts.push(seq(seq(oid(REASON_CODE), octetString(enumerated(d.reason)))));
      return seq(...parts);
    }),
  );
}

