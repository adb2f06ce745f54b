/**
 * OCSPRequest (RFC 6960 §4.1.1): a fast, strict parser over the DER reader, and an encoder.
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
 *   TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1, requestorName [1] EXPLICIT GeneralName OPTIONAL,
 *                              requestList SEQUENCE OF Request, requestExtensions [2] EXPLICIT Extensions OPTIONAL }
 *   Request     ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
 *   CertID      ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, issuerNameHash OCTET STRING,
 *                              issuerKeyHash OCTET STRING, serialNumber CertificateSerialNumber }
 *
 * The parser keeps the raw CertID bytes (a response echoes them verbatim) and the raw nonce
 * Extension (RFC 8954: echoed verbatim in responseExtensions).
 */
import { digestAlgorithms } from './algorithms.ts';
import { Tag, decodeOid, explicit, integerFromBytes, nullValue, octetString, oid, oidContent, readTlv, seq, tlvList } from './der.ts';

export const OCSP_NONCE_OID = '1.3.6.1.5.5.7.48.1.2';
export const OCSP_NONCE_MAX = 32;

/** Hash algorithms a CertID may name (by OID), with node:crypto's name and digest length. */
export const certIdHashes: Record<string, { name: 'sha1' | 'sha256' | 'sha384' | 'sha512'; length: number }> = Object.fromEntries(
  (['sha1', 'sha256', 'sha384', 'sha512'] as const).map((name) => [digestAlgorithms[name].oid, { name, length: digestAlgorithms[name].length }]),
);
const hashOidByName: Record<string, string> = Object.fromEntries(Object.entries(certIdHashes).map(([o, h]) => [h.name, o]));
/** The same, keyed by the OID's content octets (latin1): no OID decoding on the hot path. */
const hashByContent = new Map(Object.entries(certIdHashes).map(([o, h]) => [oidContent(o).toString('latin1'), h]));
const NONCE_CONTENT = oidContent(OCSP_NONCE_OID);

/** Why a request could not be used: `malformed` → malformedRequest; `unsupported` likewise, but says why. */
export class OcspRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OcspRequestError';
  }
}

export interface OcspCertId {
  hash: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** Lower-case hex of the serial INTEGER content octets (as the certificates table keeps it). */
  serialHex: string;
  /** The complete CertID TLV as received: echoed in the SingleResponse. */
  der: Buffer;
}

export interface OcspRequest {
  certIds: OcspCertId[];
  /** The complete nonce Extension TLV (echoed verbatim), when present. */
  nonceExtension?: Buffer;
  /** The nonce octets themselves. */
  nonce?: Buffer;
  /** True when the request carried an optionalSignature (not verified: Certgate does not require signed requests). */
  signed: boolean;
}

function fail(msg: string): never {
  throw new OcspRequestError(msg);
}

function tlvAt(buf: Buffer, p: number, end: number, tag: number, what: string) {
  let t;
  try {
    t = readTlv(buf, p);
  } catch (e) {
    fail(`${what}: ${(e as Error).message}`);
  }
  if (t.end > end) fail(`${what} overruns its container`);
  if (tag >= 0 && t.tag !== tag) fail(`expected ${what} (tag 0x${tag.toString(16)}), found tag 0x${t.tag.toString(16)}`);
  return t;
}

/**
 * Parses a DER OCSPRequest. Throws OcspRequestError on anything malformed: truncation, wrong
 * tags, trailing bytes, an empty request list, more than `maxRequests` CertIDs, an unknown hash
 * algorithm, a hash of the wrong length, a nonce of 0 or more than 32 octets (RFC 8954 §2.1).
 */
export function parseOcspRequest(input: Uint8Array, maxRequests = 32): OcspRequest {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const outer = tlvAt(buf, 0, buf.length, Tag.SEQUENCE, 'OCSPRequest');
  if (outer.end !== buf.length) fail('trailing data after OCSPRequest');
  const tbs = tlvAt(buf, outer.start, outer.end, Tag.SEQUENCE, 'TBSRequest');
  let signed = false;
  if (tbs.end < outer.end) {
    const sig = tlvAt(buf, tbs.end, outer.end, 0xa0, 'optionalSignature');
    if (sig.end !== outer.end) fail('trailing data after optionalSignature');
    signed = true;
  }
  let p = tbs.start;
  let t = tlvAt(buf, p, tbs.end, -1, 'TBSRequest element');
  if (t.tag === 0xa0) {
    // version [0] EXPLICIT INTEGER: only v1 (0) exists.
    const v = tlvAt(buf, t.start, t.end, Tag.INTEGER, 'version');
    if (v.end !== t.end || v.length !== 1 || buf[v.start] !== 0) fail('unsupported OCSPRequest version');
    p = t.end;
    t = tlvAt(buf, p, tbs.end, -1, 'TBSRequest element');
  }
  if (t.tag === 0xa1) {
    p = t.end; // requestorName: ignored
    t = tlvAt(buf, p, tbs.end, -1, 'TBSRequest element');
  }
  if (t.tag !== Tag.SEQUENCE) fail(`expected requestList (SEQUENCE), found tag 0x${t.tag.toString(16)}`);
  const list = t;
  const certIds: OcspCertId[] = [];
  for (let q = list.start; q < list.end; ) {
    const req = tlvAt(buf, q, list.end, Tag.SEQUENCE, 'Request');
    if (certIds.length >= maxRequests) fail(`more than ${maxRequests} requests in one OCSPRequest`);
    const cid = tlvAt(buf, req.start, req.end, Tag.SEQUENCE, 'CertID');
    if (cid.end < req.end) {
      const ext = tlvAt(buf, cid.end, req.end, 0xa0, 'singleRequestExtensions');
      if (ext.end !== req.end) fail('trailing data in Request');
    }
    certIds.push(parseCertId(buf, cid.start - cid.headerLength, cid.start, cid.end));
    q = req.end;
  }
  if (certIds.length === 0) fail('empty requestList');
  p = list.end;
  let nonceExtension: Buffer | undefined;
  let nonce: Buffer | undefined;
  if (p < tbs.end) {
    const extsE = tlvAt(buf, p, tbs.end, 0xa2, 'requestExtensions');
    if (extsE.end !== tbs.end) fail('trailing data in TBSRequest');
    const exts = tlvAt(buf, extsE.start, extsE.end, Tag.SEQUENCE, 'Extensions');
    if (exts.end !== extsE.end) fail('trailing data in requestExtensions');
    for (let q = exts.start; q < exts.end; ) {
      const e = tlvAt(buf, q, exts.end, Tag.SEQUENCE, 'Extension');
      const id = tlvAt(buf, e.start, e.end, Tag.OID, 'extnID');
      let v = tlvAt(buf, id.end, e.end, -1, 'extnValue');
      if (v.tag === Tag.BOOLEAN) v = tlvAt(buf, v.end, e.end, -1, 'extnValue');
      if (v.tag !== Tag.OCTET_STRING || v.end !== e.end) fail('malformed Extension');
      if (id.length === NONCE_CONTENT.length && buf.compare(NONCE_CONTENT, 0, NONCE_CONTENT.length, id.start, id.end) === 0) {
        if (nonceExtension) fail('duplicate nonce extension');
        nonceExtension = buf.subarray(e.start - e.headerLength, e.end);
        nonce = nonceValue(buf.subarray(v.start, v.end));
        if (nonce.length === 0 || nonce.length > OCSP_NONCE_MAX) fail(`nonce must be 1 to ${OCSP_NONCE_MAX} octets (RFC 8954)`);
      }
      q = e.end;
    }
  }
  return { certIds, nonceExtension, nonce, signed };
}

/** RFC 8954: extnValue holds an OCTET STRING; a few old clients put the raw octets there. Accept both. */
function nonceValue(v: Buffer): Buffer {
  if (v.length >= 2 && v[0] === Tag.OCTET_STRING) {
    try {
      const inner = readTlv(v, 0);
      if (inner.end === v.length) return v.subarray(inner.start, inner.end);
    } catch {
      /* raw nonce */
    }
  }
  return v;
}

function parseCertId(buf: Buffer, tlvStart: number, start: number, end: number): OcspCertId {
  const algT = tlvAt(buf, start, end, Tag.SEQUENCE, 'hashAlgorithm');
  const algOid = tlvAt(buf, algT.start, algT.end, Tag.OID, 'hashAlgorithm OID');
  if (algOid.end < algT.end) {
    // Parameters: absent or NULL.
    const par = tlvAt(buf, algOid.end, algT.end, Tag.NULL, 'hashAlgorithm parameters (NULL)');
    if (par.length !== 0 || par.end !== algT.end) fail('hashAlgorithm parameters must be NULL or absent');
  }
  const h = hashByContent.get(buf.toString('latin1', algOid.start, algOid.end));
  if (!h) {
    let dotted = '(malformed OID)';
    try {
      dotted = decodeOid(buf, algOid.start, algOid.end);
    } catch {
      /* reported as malformed */
    }
    fail(`unsupported CertID hash algorithm ${dotted}`);
  }
  const nameT = tlvAt(buf, algT.end, end, Tag.OCTET_STRING, 'issuerNameHash');
  const keyT = tlvAt(buf, nameT.end, end, Tag.OCTET_STRING, 'issuerKeyHash');
  const serialT = tlvAt(buf, keyT.end, end, Tag.INTEGER, 'serialNumber');
  if (serialT.end !== end) fail('trailing data in CertID');
  if (nameT.length !== h.length || keyT.length !== h.length) fail(`CertID hashes must be ${h.length} octets for ${h.name}`);
  if (serialT.length === 0 || serialT.length > 40) fail('serialNumber length out of range');
  return {
    hash: h.name,
    issuerNameHash: buf.subarray(nameT.start, nameT.end),
    issuerKeyHash: buf.subarray(keyT.start, keyT.end),
    serialHex: buf.toString('hex', serialT.start, serialT.end),
    der: buf.subarray(tlvStart, end),
  };
}

// ---------------------------------------------------------------------------------------------
// Encoder (clients, tests, benchmarks)
// ---------------------------------------------------------------------------------------------

/** DER CertID. `serial` is raw big-endian positive bytes or hex. */
export function encodeCertId(i: { hash: 'sha1' | 'sha256' | 'sha384' | 'sha512'; issuerNameHash: Uint8Array; issuerKeyHash: Uint8Array; serial: Uint8Array | string }): Buffer {
  const serial = typeof i.serial === 'string' ? Buffer.from(i.serial.length % 2 ? '0' + i.serial : i.serial, 'hex') : i.serial;
  return seq(seq(oid(hashOidByName[i.hash]), nullValue()), octetString(i.issuerNameHash), octetString(i.issuerKeyHash), integerFromBytes(serial));
}

/** The nonce Extension (RFC 8954): extnValue = OCTET STRING { OCTET STRING nonce }. */
export function nonceExtension(nonce: Uint8Array): Buffer {
  return seq(oid(OCSP_NONCE_OID), octetString(octetString(nonce)));
}

/** DER OCSPRequest (unsigned) over CertID encodings, with an optional nonce. */
export function encodeOcspRequest(certIds: Uint8Array[], nonce?: Uint8Array): Buffer {
  const list = tlvList(Tag.SEQUENCE, certIds.map((c) => seq(c)));
  const parts: Uint8Array[] = [list];
  if (nonce) parts.push(explicit(2, seq(nonceExtension(nonce))));
  return seq(tlvList(Tag.SEQUENCE, parts));
}
