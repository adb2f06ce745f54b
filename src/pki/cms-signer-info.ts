/**
 * SignerInfo and its attributes (RFC 5652 §5.3, §5.4).
 *
 *   SignerInfo ::= SEQUENCE {
 *     version CMSVersion,                       -- 1 with issuerAndSerialNumber, 3 with subjectKeyIdentifier
 *     sid SignerIdentifier,
 *     digestAlgorithm DigestAlgorithmIdentifier,
 *     signedAttrs [0] IMPLICIT SignedAttributes OPTIONAL,
 *     signatureAlgorithm SignatureAlgorithmIdentifier,
 *     signature SignatureValue,
 *     unsignedAttrs [1] IMPLICIT UnsignedAttributes OPTIONAL }
 *
 *   SignedAttributes ::= SET SIZE (1..MAX) OF Attribute
 *   Attribute ::= SEQUENCE {
 *     attrType OBJECT IDENTIFIER,
 *     attrValues SET OF AttributeValue }
 *   SignatureValue ::= OCTET STRING
 *
 * The signature covers the DER of signedAttrs re-tagged as a SET OF (0x31), or the content when
 * there are no signed attributes.
 */
import { berAlgorithm, berChildren, berBytes, berOid, berSmallInt, definiteBytes, expectBer, octetString, type Ber } from './ber.ts';
import { decodeIdentifier, encodeIdentifier, type CmsIdentifier } from './cms-identifier.ts';
import { Tag, integer, octetString as derOctetString, oid, seq, set, tlvList } from './der.ts';

export interface ParsedSignerInfo {
  version: number;
  sid: CmsIdentifier;
  /** Set when sid is an IssuerAndSerialNumber (same data as sid). */
  issuerAndSerial?: { issuer: Buffer; serialHex: string };
  /** Set when sid is a SubjectKeyIdentifier. */
  subjectKeyId?: Buffer;
  /** Digest algorithm OID. */
  digestAlgorithm: string;
  /** Signature algorithm OID. */
  signatureAlgorithm: string;
  /** The whole signature AlgorithmIdentifier, DER (RSASSA-PSS parameters live here). */
  signatureAlgorithmDer: Buffer;
  /** Signed attributes: type OID → the DER of each AttributeValue. Empty when there are none. */
  signedAttrs: Map<string, Buffer[]>;
  /** The signed attributes as a DER SET OF (what the signature covers); undefined when absent. */
  signedAttrsDer?: Buffer;
  unsignedAttrs: Map<string, Buffer[]>;
  signature: Buffer;
}

/** An attribute to encode: its type and the DER of each value. */
export interface AttributeInput {
  oid: string;
  values: Uint8Array[];
}

/** `SET OF Attribute` in DER (sorted, as DER requires of SET OF). */
export function encodeAttributes(attrs: AttributeInput[]): Buffer {
  const seen = new Set<string>();
  for (const a of attrs) {
    if (seen.has(a.oid)) throw new Error(`attribute ${a.oid} given twice`);
    if (a.values.length === 0) throw new Error(`attribute ${a.oid} has no value`);
    seen.add(a.oid);
  }
  return set(...attrs.map((a) => seq(oid(a.oid), set(...a.values))));
}

function decodeAttributes(buf: Uint8Array, b: Ber, what: string, unique: boolean): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>();
  for (const a of berChildren(buf, b)) {
    const [typeT, valuesT, extra] = berChildren(buf, expectBer(a, 0x30, `${what} Attribute`));
    if (extra) throw new Error(`unexpected element in ${what} Attribute`);
    const type = berOid(buf, typeT, 'attribute type');
    // RFC 5652 §5.3: a signed attribute type appears at most once (unsigned ones may repeat).
    if (unique && out.has(type)) throw new Error(`${what}: attribute ${type} appears twice`);
    const values = berChildren(buf, expectBer(valuesT, 0x31, 'attribute values')).map((v) => berBytes(buf, v));
    if (values.length === 0) throw new Error(`${what}: attribute ${type} has no value`);
    out.set(type, [...(out.get(type) ?? []), ...values]);
  }
  return out;
}

export function decodeSignerInfo(buf: Uint8Array, b: Ber): ParsedSignerInfo {
  const g = berChildren(buf, expectBer(b, 0x30, 'SignerInfo'));
  let j = 0;
  const version = berSmallInt(buf, g[j++], 'SignerInfo version');
  const sid = decodeIdentifier(buf, g[j++]);
  const digest = berAlgorithm(buf, g[j++], 'digestAlgorithm');
  let signedAttrs = new Map<string, Buffer[]>();
  let signedAttrsDer: Buffer | undefined;
  if (g[j]?.tag === 0xa0) {
    const attrsT = g[j++];
    signedAttrs = decodeAttributes(buf, attrsT, 'signed attributes', true);
    if (signedAttrs.size === 0) throw new Error('empty signed attributes');
    signedAttrsDer = definiteBytes(buf, attrsT, 'signed attributes');
    signedAttrsDer[0] = 0x31; // [0] IMPLICIT → SET OF (RFC 5652 §5.4)
  }
  const sigAlg = berAlgorithm(buf, g[j++], 'signatureAlgorithm');
  const signature = octetString(buf, g[j++], 'signature');
  let unsignedAttrs = new Map<string, Buffer[]>();
  if (g[j]?.tag === 0xa1) unsignedAttrs = decodeAttributes(buf, g[j++], 'unsigned attributes', false);
  if (j !== g.length) throw new Error('unexpected element in SignerInfo');
  return {
    version,
    sid,
    issuerAndSerial: sid.kind === 'issuerAndSerial' ? { issuer: sid.issuer, serialHex: sid.serialHex } : undefined,
    subjectKeyId: sid.kind === 'ski' ? sid.keyId : undefined,
    digestAlgorithm: digest.oid,
    signatureAlgorithm: sigAlg.oid,
    signatureAlgorithmDer: sigAlg.der,
    signedAttrs,
    signedAttrsDer,
    unsignedAttrs,
    signature,
  };
}

export interface SignerInfoInput {
  sid: CmsIdentifier;
  /** DER DigestAlgorithmIdentifier. */
  digestAlgorithm: Uint8Array;
  /** DER SET OF Attribute (tag 0x31) as signed; re-tagged [0] here. */
  signedAttrs?: Uint8Array;
  /** DER SignatureAlgorithmIdentifier. */
  signatureAlgorithm: Uint8Array;
  signature: Uint8Array;
  /** DER SET OF Attribute (tag 0x31); re-tagged [1] here. */
  unsignedAttrs?: Uint8Array;
}

export function encodeSignerInfo(s: SignerInfoInput): Buffer {
  const parts: Uint8Array[] = [integer(s.sid.kind === 'ski' ? 3 : 1), encodeIdentifier(s.sid), s.digestAlgorithm];
  if (s.signedAttrs) parts.push(retag(s.signedAttrs, 0xa0));
  parts.push(s.signatureAlgorithm, derOctetString(s.signature));
  if (s.unsignedAttrs) parts.push(retag(s.unsignedAttrs, 0xa1));
  return tlvList(Tag.SEQUENCE, parts);
}

function retag(der: Uint8Array, tag: number): Buffer {
  const out = Buffer.from(der);
  out[0] = tag;
  return out;
}

/** The single value of a signed attribute, or undefined (absent, or several values). */
export function singleAttribute(attrs: Map<string, Buffer[]>, type: string): Buffer | undefined {
  const v = attrs.get(type);
  return v && v.length === 1 ? v[0] : undefined;
}
