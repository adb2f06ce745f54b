/**
 * TaggedRequest (RFC 5272 §3.2.1.3), a certification request inside PKIData:
 *
 *   TaggedRequest ::= CHOICE {
 *       tcr               [0] TaggedCertificationRequest,
 *       crm               [1] CertReqMsg,
 *       orm               [2] SEQUENCE {
 *           bodyPartID            BodyPartID,
 *           requestMessageType    OBJECT IDENTIFIER,
 *           requestMessageValue   ANY DEFINED BY requestMessageType } }
 *
 *   TaggedCertificationRequest ::= SEQUENCE {
 *       bodyPartID            BodyPartID,
 *       certificationRequest  CertificationRequest }   -- PKCS#10
 *
 * The tags are IMPLICIT (RFC 5272's module), so [0] and [1] replace the SEQUENCE tags.
 * A CertReqMsg's body-part id is its certReqId (RFC 5272 §3.2.1.3.2).
 */
import { Tag, childList, decodeInteger, implicitConstructed, oid, readOid, readTlv, tlvBytes, type Tlv } from './der.ts';
import { decodeBodyPartId, encodeBodyPartId } from './cmc-body-part.ts';

export type TaggedRequest =
  | { kind: 'pkcs10'; bodyPartId: number; der: Buffer }
  | { kind: 'crmf'; bodyPartId: number; der: Buffer }
  | { kind: 'other'; bodyPartId: number; type: string; value: Buffer };

export function decodeTaggedRequest(buf: Uint8Array, t: Tlv): TaggedRequest {
  const parts = childList(buf, t);
  if (t.tag === 0xa0) {
    const [id, csr, ...rest] = parts;
    if (!csr || rest.length || csr.tag !== Tag.SEQUENCE) throw new Error('CMC: malformed TaggedCertificationRequest');
    return { kind: 'pkcs10', bodyPartId: decodeBodyPartId(buf, id), der: Buffer.from(tlvBytes(buf, csr)) };
  }
  if (t.tag === 0xa1) {
    // CertReqMsg ::= SEQUENCE { certReq CertRequest, popo … OPTIONAL, regInfo … OPTIONAL }, tag replaced.
    const certReq = parts[0];
    if (!certReq || certReq.tag !== Tag.SEQUENCE) throw new Error('CMC: malformed CertReqMsg');
    const reqId = readTlv(buf, certReq.start);
    if (reqId.tag !== Tag.INTEGER) throw new Error('CMC: CertReqMsg without certReqId');
    const n = decodeInteger(buf, reqId.start, reqId.end);
    if (n < 0n || n > 4294967295n) throw new Error('CMC: certReqId out of the BodyPartID range');
    // Re-tag as a universal SEQUENCE so the CRMF decoder reads a plain CertReqMsg.
    const der = Buffer.from(tlvBytes(buf, t));
    der[0] = 0x30;
    return { kind: 'crmf', bodyPartId: Number(n), der };
  }
  if (t.tag === 0xa2) {
    const [id, type, value] = parts;
    if (!type || !value) throw new Error('CMC: malformed OtherReqMsg');
    return { kind: 'other', bodyPartId: decodeBodyPartId(buf, id), type: readOid(buf, type), value: Buffer.from(tlvBytes(buf, value)) };
  }
  throw new Error('CMC: unknown TaggedRequest choice');
}

export function encodeTaggedRequest(r: TaggedRequest): Buffer {
  if (r.kind === 'pkcs10') return implicitConstructed(0, encodeBodyPartId(r.bodyPartId), r.der);
  if (r.kind === 'crmf') {
    const t = readTlv(r.der, 0);
    return implicitConstructed(1, r.der.subarray(t.start, t.end));
  }
  return implicitConstructed(2, encodeBodyPartId(r.bodyPartId), oid(r.type), r.value);
}
