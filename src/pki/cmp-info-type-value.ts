/**
 * InfoTypeAndValue (RFC 9810 §5.3.19), the element of generalInfo, GenMsgContent and GenRepContent.
 *
 *   InfoTypeAndValue ::= SEQUENCE { infoType OBJECT IDENTIFIER, infoValue ANY DEFINED BY infoType OPTIONAL }
 *   GenMsgContent ::= SEQUENCE OF InfoTypeAndValue
 *   GenRepContent ::= SEQUENCE OF InfoTypeAndValue
 */
import { Tag, childList, expectTlv, oid, readOid, readTlv, seq, tlvBytes, type Tlv } from './der.ts';

export interface InfoTypeAndValue {
  type: string;
  /** The infoValue TLV (whole encoding), when present. */
  value?: Buffer;
}

/** id-it (1.3.6.1.5.5.7.4.x) values Certgate reads or writes. */
export const itOids = {
  caProtEncCert: '1.3.6.1.5.5.7.4.1',
  signKeyPairTypes: '1.3.6.1.5.5.7.4.2',
  implicitConfirm: '1.3.6.1.5.5.7.4.13',
  confirmWaitTime: '1.3.6.1.5.5.7.4.14',
  origPKIMessage: '1.3.6.1.5.5.7.4.15',
  suppLangTags: '1.3.6.1.5.5.7.4.16',
  caCerts: '1.3.6.1.5.5.7.4.17',
  rootCaKeyUpdate: '1.3.6.1.5.5.7.4.18',
  certReqTemplate: '1.3.6.1.5.5.7.4.19',
  rootCaCert: '1.3.6.1.5.5.7.4.20',
  certProfile: '1.3.6.1.5.5.7.4.21',
  crlStatusList: '1.3.6.1.5.5.7.4.22',
  crls: '1.3.6.1.5.5.7.4.23',
} as const;

export function decodeInfoTypeAndValue(buf: Uint8Array, t: Tlv): InfoTypeAndValue {
  if (t.tag !== Tag.SEQUENCE) throw new Error('InfoTypeAndValue: not a SEQUENCE');
  const o = expectTlv(buf, t.start, Tag.OID, 'infoType');
  const out: InfoTypeAndValue = { type: readOid(buf, o) };
  if (o.end < t.end) {
    const v = readTlv(buf, o.end);
    if (v.end !== t.end) throw new Error('InfoTypeAndValue: trailing data');
    out.value = Buffer.from(tlvBytes(buf, v));
  }
  return out;
}

export function encodeInfoTypeAndValue(i: InfoTypeAndValue): Buffer {
  return i.value ? seq(oid(i.type), i.value) : seq(oid(i.type));
}

/** GenMsgContent / GenRepContent. */
export function decodeGenContent(buf: Uint8Array, t: Tlv): InfoTypeAndValue[] {
  if (t.tag !== Tag.SEQUENCE) throw new Error('GenMsgContent: not a SEQUENCE');
  return childList(buf, t).map((i) => decodeInfoTypeAndValue(buf, i));
}

export function encodeGenContent(items: InfoTypeAndValue[]): Buffer {
  return seq(...items.map(encodeInfoTypeAndValue));
}
