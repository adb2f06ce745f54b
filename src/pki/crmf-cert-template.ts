/**
 * CertTemplate and OptionalValidity (RFC 4211 §5). The CRMF module uses IMPLICIT tags; Name and
 * Time are CHOICEs, so their tags are explicit in effect.
 *
 *   CertTemplate ::= SEQUENCE {
 *     version      [0] Version               OPTIONAL,
 *     serialNumber [1] INTEGER               OPTIONAL,
 *     signingAlg   [2] AlgorithmIdentifier   OPTIONAL,
 *     issuer       [3] Name                  OPTIONAL,
 *     validity     [4] OptionalValidity      OPTIONAL,
 *     subject      [5] Name                  OPTIONAL,
 *     publicKey    [6] SubjectPublicKeyInfo  OPTIONAL,
 *     issuerUID    [7] UniqueIdentifier      OPTIONAL,
 *     subjectUID   [8] UniqueIdentifier      OPTIONAL,
 *     extensions   [9] Extensions            OPTIONAL }
 *   OptionalValidity ::= SEQUENCE { notBefore [0] Time OPTIONAL, notAfter [1] Time OPTIONAL }
 */
import { Tag, childList, decodeTime, explicit, implicitConstructed, implicitPrimitive, integerFromBytes, readTlv, seq, time, tlvBytes, type Tlv } from './der.ts';

export interface CertTemplate {
  version?: number;
  /** Serial INTEGER content octets. */
  serialNumber?: Buffer;
  /** Name DER. */
  issuer?: Buffer;
  validity?: { notBefore?: Date; notAfter?: Date };
  /** Name DER. */
  subject?: Buffer;
  /** SubjectPublicKeyInfo DER (re-tagged as the universal SEQUENCE). */
  publicKey?: Buffer;
  /** Extensions DER (SEQUENCE OF Extension). */
  extensions?: Buffer;
}

function nameIn(buf: Uint8Array, t: Tlv): Buffer {
  const inner = readTlv(buf, t.start);
  if (inner.tag !== Tag.SEQUENCE || inner.end !== t.end) throw new Error('CertTemplate: malformed Name');
  return Buffer.from(tlvBytes(buf, inner));
}

/** Content of an IMPLICIT-tagged constructed field re-wrapped as a universal SEQUENCE. */
function asSequence(buf: Uint8Array, t: Tlv): Buffer {
  childList(buf, t); // checks the content is well-formed TLVs
  return seq(buf.subarray(t.start, t.end));
}

function decodeValidity(buf: Uint8Array, t: Tlv): { notBefore?: Date; notAfter?: Date } {
  const v: { notBefore?: Date; notAfter?: Date } = {};
  for (const x of childList(buf, t)) {
    const inner = readTlv(buf, x.start);
    if (inner.end !== x.end) throw new Error('OptionalValidity: trailing data');
    if (x.tag === 0xa0 && !v.notBefore && !v.notAfter) v.notBefore = decodeTime(buf, inner);
    else if (x.tag === 0xa1 && !v.notAfter) v.notAfter = decodeTime(buf, inner);
    else throw new Error('OptionalValidity: unexpected field');
  }
  return v;
}

export function decodeCertTemplate(buf: Uint8Array, t: Tlv): CertTemplate {
  if (t.tag !== Tag.SEQUENCE) throw new Error('CertTemplate: not a SEQUENCE');
  const out: CertTemplate = {};
  let last = -1;
  for (const x of childList(buf, t)) {
    const n = x.tag & 0x1f;
    if ((x.tag & 0xc0) !== 0x80 || n > 9 || n <= last) throw new Error('CertTemplate: unexpected or out-of-order field');
    last = n;
    switch (n) {
      case 0:
        if (x.tag !== 0x80 || x.length !== 1) throw new Error('CertTemplate: malformed version');
        out.version = buf[x.start];
        break;
      case 1:
        if (x.tag !== 0x81 || x.length < 1 || x.length > 21) throw new Error('CertTemplate: malformed serialNumber');
        out.serialNumber = Buffer.from(buf.subarray(x.start, x.end));
        break;
      case 3: if (x.tag !== 0xa3) throw new Error('CertTemplate: malformed issuer'); out.issuer = nameIn(buf, x); break;
      case 4: if (x.tag !== 0xa4) throw new Error('CertTemplate: malformed validity'); out.validity = decodeValidity(buf, x); break;
      case 5: if (x.tag !== 0xa5) throw new Error('CertTemplate: malformed subject'); out.subject = nameIn(buf, x); break;
      case 6: if (x.tag !== 0xa6) throw new Error('CertTemplate: malformed publicKey'); out.publicKey = asSequence(buf, x); break;
      case 9: if (x.tag !== 0xa9) throw new Error('CertTemplate: malformed extensions'); out.extensions = asSequence(buf, x); break;
      default: break; // signingAlg, issuerUID, subjectUID: not used by Certgate (RFC 9483 §4.1.1 says omit)
    }
  }
  return out;
}

export function encodeCertTemplate(c: CertTemplate): Buffer {
  const parts: Buffer[] = [];
  if (c.version !== undefined) parts.push(implicitPrimitive(0, Buffer.from([c.version])));
  if (c.serialNumber) parts.push(implicitPrimitive(1, integerFromBytes(c.serialNumber).subarray(2)));
  if (c.issuer) parts.push(explicit(3, c.issuer));
  if (c.validity) {
    const v: Buffer[] = [];
    if (c.validity.notBefore) v.push(explicit(0, time(c.validity.notBefore)));
    if (c.validity.notAfter) v.push(explicit(1, time(c.validity.notAfter)));
    parts.push(implicitConstructed(4, ...v));
  }
  if (c.subject) parts.push(explicit(5, c.subject));
  if (c.publicKey) parts.push(implicitConstructed(6, c.publicKey.subarray(readTlv(c.publicKey).start)));
  if (c.extensions) parts.push(implicitConstructed(9, c.extensions.subarray(readTlv(c.extensions).start)));
  return seq(...parts);
}
