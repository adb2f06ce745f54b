/**
 * CertReqMessages, CertReqMsg and CertRequest (RFC 4211 §3, §5, §6). IMPLICIT tags.
 *
 *   CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg
 *   CertReqMsg ::= SEQUENCE {
 *     certReq  CertRequest,
 *     popo     ProofOfPossession OPTIONAL,
 *     regInfo  SEQUENCE SIZE(1..MAX) OF AttributeTypeAndValue OPTIONAL }
 *   CertRequest ::= SEQUENCE {
 *     certReqId     INTEGER,
 *     certTemplate  CertTemplate,
 *     controls      Controls OPTIONAL }
 *   Controls ::= SEQUENCE SIZE(1..MAX) OF AttributeTypeAndValue
 *   AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY DEFINED BY type }
 *
 * The decoder keeps the CertRequest bytes: a POPOSigningKey without poposkInput signs them.
 */
import { Tag, childList, decodeInteger, expectTlv, integer, oid, readOid, readTlv, seq, tlvBytes, type Tlv } from './der.ts';
import { decodeCertTemplate, encodeCertTemplate, type CertTemplate } from './crmf-cert-template.ts';
import { decodePop, encodePop, type ProofOfPossession } from './crmf-pop.ts';

export const regCtrlOids = {
  regToken: '1.3.6.1.5.5.7.5.1.1',
  authenticator: '1.3.6.1.5.5.7.5.1.2',
  oldCertID: '1.3.6.1.5.5.7.5.1.5',
  protocolEncrKey: '1.3.6.1.5.5.7.5.1.6',
} as const;

export interface AttributeTypeAndValue {
  type: string;
  /** The value TLV (whole encoding). */
  value: Buffer;
}

export interface CertRequest {
  certReqId: bigint;
  certTemplate: CertTemplate;
  controls?: AttributeTypeAndValue[];
}

export interface CertReqMsg {
  certReq: CertRequest;
  /** DER of certReq as received (what a POPOSigningKey signs). */
  certReqDer: Buffer;
  popo?: ProofOfPossession;
  regInfo?: AttributeTypeAndValue[];
}

/** A request carrying more is refused: RFC 9483 §4.1.1 allows exactly one. */
const MAX_REQUESTS = 8;

function decodeAttributes(buf: Uint8Array, t: Tlv): AttributeTypeAndValue[] {
  if (t.tag !== Tag.SEQUENCE) throw new Error('Controls: not a SEQUENCE');
  return childList(buf, t).map((a) => {
    if (a.tag !== Tag.SEQUENCE) throw new Error('AttributeTypeAndValue: not a SEQUENCE');
    const o = expectTlv(buf, a.start, Tag.OID, 'type');
    const v = readTlv(buf, o.end);
    if (v.end !== a.end) throw new Error('AttributeTypeAndValue: malformed');
    return { type: readOid(buf, o), value: Buffer.from(tlvBytes(buf, v)) };
  });
}

const encodeAttributes = (list: AttributeTypeAndValue[]) => seq(...list.map((a) => seq(oid(a.type), a.value)));

export function decodeCertRequest(buf: Uint8Array, t: Tlv): CertRequest {
  if (t.tag !== Tag.SEQUENCE) throw new Error('CertRequest: not a SEQUENCE');
  const f = childList(buf, t);
  if (f.length < 2 || f.length > 3 || f[0].tag !== Tag.INTEGER || f[0].length > 8) throw new Error('CertRequest: malformed');
  const out: CertRequest = { certReqId: decodeInteger(buf, f[0].start, f[0].end), certTemplate: decodeCertTemplate(buf, f[1]) };
  if (f[2]) out.controls = decodeAttributes(buf, f[2]);
  return out;
}

export function encodeCertRequest(r: CertRequest): Buffer {
  const parts = [integer(r.certReqId), encodeCertTemplate(r.certTemplate)];
  if (r.controls?.length) parts.push(encodeAttributes(r.controls));
  return seq(...parts);
}

export function decodeCertReqMessages(buf: Uint8Array, t: Tlv): CertReqMsg[] {
  if (t.tag !== Tag.SEQUENCE) throw new Error('CertReqMessages: not a SEQUENCE');
  const msgs = childList(buf, t);
  if (msgs.length < 1 || msgs.length > MAX_REQUESTS) throw new Error('CertReqMessages: wrong number of requests');
  return msgs.map((m) => {
    if (m.tag !== Tag.SEQUENCE) throw new Error('CertReqMsg: not a SEQUENCE');
    const f = childList(buf, m);
    if (f.length < 1 || f.length > 3) throw new Error('CertReqMsg: malformed');
    const out: CertReqMsg = { certReq: decodeCertRequest(buf, f[0]), certReqDer: Buffer.from(tlvBytes(buf, f[0])) };
    for (const x of f.slice(1)) {
      if (x.tag === Tag.SEQUENCE && !out.regInfo) out.regInfo = decodeAttributes(buf, x);
      else if (!out.popo && !out.regInfo) out.popo = decodePop(buf, x);
      else throw new Error('CertReqMsg: unexpected field');
    }
    return out;
  });
}

export function encodeCertReqMessages(list: { certReq: CertRequest; popo?: ProofOfPossession; regInfo?: AttributeTypeAndValue[] }[]): Buffer {
  return seq(
    ...list.map((m) => {
      const parts = [encodeCertRequest(m.certReq)];
      if (m.popo) parts.push(encodePop(m.popo));
      if (m.regInfo?.length) parts.push(encodeAttributes(m.regInfo));
      return seq(...parts);
    }),
  );
}
