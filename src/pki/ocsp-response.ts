/**
 * OCSPResponse / BasicOCSPResponse (RFC 6960 §4.2.1): a fast encoder over the DER encoder, and a
 * parser (tests, clients).
 *
 *   OCSPResponse      ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT ResponseBytes OPTIONAL }
 *   ResponseBytes     ::= SEQUENCE { responseType OID (id-pkix-ocsp-basic), response OCTET STRING }
 *   BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm AlgorithmIdentifier,
 *                                    signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
 *   ResponseData      ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, responderID ResponderID,
 *                                    producedAt GeneralizedTime, responses SEQUENCE OF SingleResponse,
 *                                    responseExtensions [1] EXPLICIT Extensions OPTIONAL }
 *   ResponderID       ::= CHOICE { byName [1] Name, byKey [2] KeyHash }   -- EXPLICIT (module default)
 *   SingleResponse    ::= SEQUENCE { certID CertID, certStatus CertStatus, thisUpdate GeneralizedTime,
 *                                    nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL, singleExtensions [1] EXPLICIT Extensions OPTIONAL }
 *   CertStatus        ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }
 *   RevokedInfo       ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
 */
import { createHash } from 'node:crypto';
import {
  Tag,
  bitString,
  childList,
  decodeInteger,
  decodeOid,
  decodeTime,
  enumerated,
  expectTlv,
  explicit,
  generalizedTime,
  octetString,
  oid,
  readTlv,
  seq,
  tlv,
  tlvBytes,
  tlvList,
} from './der.ts';
import { OCSP_NONCE_OID, certIdHashes } from './ocsp-request.ts';

export const OCSP_BASIC_OID = '1.3.6.1.5.5.7.48.1.1';

/** OCSPResponseStatus (RFC 6960 §4.2.1); 4 is not used. */
export const OcspStatus = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;
export type OcspStatusName = keyof typeof OcspStatus;

const errorResponses = new Map<number, Buffer>();
/** The complete OCSPResponse for an error status (no responseBytes). Shared: do not mutate. */
export function ocspErrorResponse(status: Exclude<OcspStatusName, 'successful'>): Buffer {
  const code = OcspStatus[status];
  let b = errorResponses.get(code);
  if (!b) {
    b = seq(enumerated(code));
    errorResponses.set(code, b);
  }
  return b;
}

export type CertStatusInput =
  | { kind: 'good' }
  | { kind: 'unknown' }
  | { kind: 'revoked'; time: Date; reason?: number };

const GOOD = Buffer.from([0x80, 0x00]);
const UNKNOWN = Buffer.from([0x82, 0x00]);

/** DER SingleResponse. `certId` is the CertID TLV, usually copied from the request. */
export function encodeSingleResponse(i: { certId: Uint8Array; status: CertStatusInput; thisUpdate: Date; nextUpdate?: Date; extensions?: Uint8Array[] }): Buffer {
  let status: Buffer;
  if (i.status.kind === 'good') status = GOOD;
  else if (i.status.kind === 'unknown') status = UNKNOWN;
  else {
    const t = generalizedTime(i.status.time);
    status = i.status.reason === undefined ? tlv(0xa1, t) : tlv(0xa1, t, explicit(0, enumerated(i.status.reason)));
  }
  const parts: Uint8Array[] = [i.certId, status, generalizedTime(i.thisUpdate)];
  if (i.nextUpdate) parts.push(explicit(0, generalizedTime(i.nextUpdate)));
  if (i.extensions?.length) parts.push(explicit(1, tlvList(Tag.SEQUENCE, i.extensions)));
  return tlvList(Tag.SEQUENCE, parts);
}

/** ResponderID byKey: SHA-1 of the responder's subjectPublicKey BIT STRING contents (RFC 6960 §4.2.1). */
export function responderIdByKey(subjectPublicKeyBits: Uint8Array): Buffer {
  return explicit(2, octetString(createHash('sha1').update(subjectPublicKeyBits).digest()));
}

/** ResponderID byName over a DER Name. */
export function responderIdByName(nameDer: Uint8Array): Buffer {
  return explicit(1, nameDer);
}

/**
 * DER ResponseData (v1, the default, is omitted). `responderId` is a prebuilt ResponderID
 * (responderIdByKey/ByName); `singleResponses` are SingleResponse TLVs; `extensions` are
 * Extension TLVs (e.g. the request's nonce extension, copied verbatim).
 */
export function encodeResponseData(i: { responderId: Uint8Array; producedAt: Date; singleResponses: Uint8Array[]; extensions?: Uint8Array[] }): Buffer {
  const parts: Uint8Array[] = [i.responderId, generalizedTime(i.producedAt), tlvList(Tag.SEQUENCE, i.singleResponses)];
  if (i.extensions?.length) parts.push(explicit(1, tlvList(Tag.SEQUENCE, i.extensions)));
  return tlvList(Tag.SEQUENCE, parts);
}

const BASIC_OID = oid(OCSP_BASIC_OID);
const SUCCESSFUL = enumerated(0);

/**
 * The complete successful OCSPResponse around a signed ResponseData. `certs` (DER certificates)
 * go into BasicOCSPResponse.certs: the delegated responder certificate, when one signs.
 */
export function encodeOcspResponse(i: { tbsResponseData: Uint8Array; signatureAlgorithm: Uint8Array; signature: Uint8Array; certs?: Uint8Array[] }): Buffer {
  const parts: Uint8Array[] = [i.tbsResponseData, i.signatureAlgorithm, bitString(i.signature)];
  if (i.certs?.length) parts.push(explicit(0, tlvList(Tag.SEQUENCE, i.certs)));
  const basic = tlvList(Tag.SEQUENCE, parts);
  return seq(SUCCESSFUL, explicit(0, seq(BASIC_OID, octetString(basic))));
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

export interface ParsedSingleResponse {
  certId: Uint8Array;
  hash?: string;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  serialHex: string;
  status: 'good' | 'revoked' | 'unknown';
  revocationTime?: Date;
  revocationReason?: number;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface ParsedOcspResponse {
  status: OcspStatusName | number;
  basic?: {
    tbsResponseData: Uint8Array;
    responderId: { byName?: Uint8Array; byKey?: Buffer };
    producedAt: Date;
    responses: ParsedSingleResponse[];
    /** The nonce octets of the response's nonce extension, when present. */
    nonce?: Buffer;
    extensions: { oid: string; value: Uint8Array }[];
    signatureAlgorithm: Uint8Array;
    signature: Uint8Array;
    certs: Uint8Array[];
  };
}

const statusNames = Object.fromEntries(Object.entries(OcspStatus).map(([k, v]) => [v, k])) as Record<number, OcspStatusName>;

/** Parses a DER OCSPResponse (strict DER; throws Error on malformed input). Does not verify the signature. */
export function parseOcspResponse(der: Uint8Array): ParsedOcspResponse {
  const outer = expectTlv(der, 0, Tag.SEQUENCE, 'OCSPResponse');
  if (outer.end !== der.length) throw new Error('OCSPResponse: trailing data');
  const st = expectTlv(der, outer.start, Tag.ENUMERATED, 'responseStatus');
  const code = Number(decodeInteger(der, st.start, st.end));
  const status = statusNames[code] ?? code;
  if (st.end === outer.end) return { status };
  const rb = expectTlv(der, st.end, 0xa0, 'responseBytes');
  const rbs = expectTlv(der, rb.start, Tag.SEQUENCE, 'ResponseBytes');
  const typ = expectTlv(der, rbs.start, Tag.OID, 'responseType');
  if (decodeOid(der, typ.start, typ.end) !== OCSP_BASIC_OID) throw new Error('OCSPResponse: not id-pkix-ocsp-basic');
  const os = expectTlv(der, typ.end, Tag.OCTET_STRING, 'response');
  const b = der.subarray(os.start, os.end);

  const basic = expectTlv(b, 0, Tag.SEQUENCE, 'BasicOCSPResponse');
  const tbsT = expectTlv(b, basic.start, Tag.SEQUENCE, 'ResponseData');
  const algT = expectTlv(b, tbsT.end, Tag.SEQUENCE, 'signatureAlgorithm');
  const sigT = expectTlv(b, algT.end, Tag.BIT_STRING, 'signature');
  const certs: Uint8Array[] = [];
  if (sigT.end < basic.end) {
    const c = expectTlv(b, sigT.end, 0xa0, 'certs');
    const list = expectTlv(b, c.start, Tag.SEQUENCE, 'certs SEQUENCE');
    for (const x of childList(b, list)) certs.push(tlvBytes(b, x));
  }
  const f = childList(b, tbsT);
  let k = 0;
  if (f[k]?.tag === 0xa0) k++;
  const rid = f[k++];
  const responderId: { byName?: Uint8Array; byKey?: Buffer } = {};
  if (rid?.tag === 0xa1) responderId.byName = tlvBytes(b, readTlv(b, rid.start));
  else if (rid?.tag === 0xa2) {
    const o = expectTlv(b, rid.start, Tag.OCTET_STRING, 'KeyHash');
    responderId.byKey = Buffer.from(b.subarray(o.start, o.end));
  } else throw new Error('ResponseData: bad responderID');
  const producedAt = decodeTime(b, f[k++]);
  const respList = f[k++];
  if (!respList || respList.tag !== Tag.SEQUENCE) throw new Error('ResponseData: expected responses');
  const responses = childList(b, respList).map((r) => parseSingle(b, r));
  const extensions: { oid: string; value: Uint8Array }[] = [];
  let nonce: Buffer | undefined;
  if (f[k]?.tag === 0xa1) {
    const list = expectTlv(b, f[k].start, Tag.SEQUENCE, 'responseExtensions');
    for (const e of childList(b, list)) {
      const id = expectTlv(b, e.start, Tag.OID, 'extnID');
      let v = readTlv(b, id.end);
      if (v.tag === Tag.BOOLEAN) v = readTlv(b, v.end);
      const o = decodeOid(b, id.start, id.end);
      const value = b.subarray(v.start, v.end);
      extensions.push({ oid: o, value });
      if (o === OCSP_NONCE_OID) {
        const inner = value[0] === Tag.OCTET_STRING ? readTlv(value, 0) : undefined;
        nonce = Buffer.from(inner && inner.end === value.length ? value.subarray(inner.start, inner.end) : value);
      }
    }
  }
  return {
    status,
    basic: {
      tbsResponseData: tlvBytes(b, tbsT),
      responderId,
      producedAt,
      responses,
      nonce,
      extensions,
      signatureAlgorithm: tlvBytes(b, algT),
      signature: b.subarray(sigT.start + 1, sigT.end),
      certs,
    },
  };
}

function parseSingle(b: Uint8Array, r: { start: number; end: number; tag: number }): ParsedSingleResponse {
  const f = childList(b, r as never);
  const cid = f[0];
  const [alg, nameH, keyH, serial] = childList(b, cid);
  const algOid = expectTlv(b, alg.start, Tag.OID, 'hashAlgorithm');
  const out: ParsedSingleResponse = {
    certId: tlvBytes(b, cid),
    hash: certIdHashes[decodeOid(b, algOid.start, algOid.end)]?.name,
    issuerNameHash: Buffer.from(b.subarray(nameH.start, nameH.end)),
    issuerKeyHash: Buffer.from(b.subarray(keyH.start, keyH.end)),
    serialHex: Buffer.from(b.subarray(serial.start, serial.end)).toString('hex'),
    status: 'good',
    thisUpdate: new Date(0),
  };
  const cs = f[1];
  if (cs.tag === 0x80) out.status = 'good';
  else if (cs.tag === 0x82) out.status = 'unknown';
  else if (cs.tag === 0xa1) {
    out.status = 'revoked';
    const t = readTlv(b, cs.start);
    out.revocationTime = decodeTime(b, t);
    if (t.end < cs.end) {
      const rr = expectTlv(b, t.end, 0xa0, 'revocationReason');
      const en = expectTlv(b, rr.start, Tag.ENUMERATED, 'CRLReason');
      out.revocationReason = Number(decodeInteger(b, en.start, en.end));
    }
  } else throw new Error('SingleResponse: bad certStatus');
  out.thisUpdate = decodeTime(b, f[2]);
  if (f[3]?.tag === 0xa0) out.nextUpdate = decodeTime(b, readTlv(b, f[3].start));
  return out;
}
