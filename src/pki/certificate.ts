/** X.509 v3 certificates: fast TBSCertificate building, signing envelope, and a fast parser. */
import { createPublicKey, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { defaultSignatureAlgorithm, signatureSchemeOf, verifySignature } from './algorithms.ts';
import type { Identifier } from '../issuance/request.ts';
import { ext } from './oids.ts';
import {
  Tag,
  bitString,
  children,
  decodeTime,
  expectTlv,
  explicit,
  integerFromBytes,
  readOid,
  readTlv,
  seq,
  time,
  tlvBytes,
  type Tlv,
} from './der.ts';
import { decodeGeneralNames } from './extensions.ts';

const VERSION_V3 = explicit(0, Buffer.from([Tag.INTEGER, 1, 2]));

export interface TbsCertificateInput {
  /** Positive serial as raw big-endian bytes (randomSerial()). */
  serial: Uint8Array;
  /** DER AlgorithmIdentifier (signatureAlgorithmFor(key).algorithmIdentifier). */
  signatureAlgorithm: Uint8Array;
  /** DER Name of the issuer: copy the issuer certificate's subject bytes verbatim. */
  issuer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** DER Name. */
  subject: Uint8Array;
  /** DER SubjectPublicKeyInfo, copied verbatim. */
  spki: Uint8Array;
  /** DER Extension elements (see extensions.ts); [3] is omitted when empty. */
  extensions: Uint8Array[];
}

/** DER TBSCertificate, version 3. */
export function buildTbsCertificate(i: TbsCertificateInput): Buffer {
  if (i.serial.length === 0 || i.serial.every((b) => b === 0)) throw new Error('certificate: serial must be positive');
  if (i.notAfter.getTime() < i.notBefore.getTime()) throw new Error('certificate: notAfter before notBefore');
  const parts: Uint8Array[] = [
    VERSION_V3,
    integerFromBytes(i.serial),
    i.signatureAlgorithm,
    i.issuer,
    seq(time(i.notBefore), time(i.notAfter)),
    i.subject,
    i.spki,
  ];
  if (i.extensions.length > 0) parts.push(explicit(3, seq(...i.extensions)));
  return seq(...parts);
}

/** SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature } (Certificate and CertificateList). */
export function assembleSigned(tbs: Uint8Array, signatureAlgorithm: Uint8Array, signature: Uint8Array): Buffer {
  return seq(tbs, signatureAlgorithm, bitString(signature));
}

/** Signs `tbs` with `key` and returns the complete signed structure (certificate or CRL). */
export function signTbs(tbs: Uint8Array, key: KeyObject): Buffer {
  const { algorithmIdentifier, hash } = signatureAlgorithmFor(key);
  return assembleSigned(tbs, algorithmIdentifier, cryptoSign(hash, tbs, key));
}

/**
 * 16 random bytes, high bit cleared (positive INTEGER without a 0x00 pad) and first byte non-zero
 * (the INTEGER is always 16 octets): 127 bits of entropy, well over CA/B BR 7.1's 64.
 */
export function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  while (b[0] === 0) b[0] = randomBytes(1)[0] & 0x7f;
  return b;
}

/**
 * Lower-case hex of the serial as its DER INTEGER content octets (redundant leading zeros
 * stripped, a 00 kept when the high bit is set) — the same string parseCertificate reports.
 */
export function serialHex(serialBytes: Uint8Array): string {
  const enc = integerFromBytes(serialBytes);
  return enc.subarray(readTlv(enc).start).toString('hex');
}

// ---------------------------------------------------------------------------------------------
// Signature algorithms
// ---------------------------------------------------------------------------------------------

/**
 * The signature AlgorithmIdentifier and node:crypto hash name for a signing key (private or
 * public). EC P-256/384/521 → ecdsa-with-SHA256/384/512 (no parameters); RSA → sha256WithRSAEncryption
 * (NULL parameters); Ed25519/Ed448 → id-Ed25519/id-Ed448 (no parameters, hash null).
 */
export function signatureAlgorithmFor(key: KeyObject): {
  algorithmIdentifier: Buffer;
  hash: 'sha256' | 'sha384' | 'sha512' | null;
} {
  return defaultSignatureAlgorithm(key);
}

/**
 * Whether a certificate's (or CRL's) signature verifies under `issuerSpki` (DER
 * SubjectPublicKeyInfo) with the algorithm its outer signatureAlgorithm names. Never throws.
 */
export function verifyCertificateSignature(cert: Pick<ParsedCertificate, 'tbs' | 'signatureAlgorithm' | 'signature'>, issuerSpki: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(issuerSpki), format: 'der', type: 'spki' });
    return verifySignature(signatureSchemeOf(cert.signatureAlgorithm), key, cert.tbs, cert.signature);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

export interface ParsedCertificate {
  /** Hex of the serial INTEGER content octets (lower case). */
  serialHex: string;
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
  tbs: Uint8Array;
  /** Raw DER signature AlgorithmIdentifier (outer) and signature value. */
  signatureAlgorithm: Uint8Array;
  signature: Uint8Array;
  ski?: Buffer;
  sans: Identifier[];
  isCa: boolean;
  extensions: { oid: string; critical: boolean; value: Uint8Array }[];
}

/** Parses extension elements inside a SEQUENCE OF Extension TLV. */
export function parseExtensions(der: Uint8Array, list: Tlv): { oid: string; critical: boolean; value: Uint8Array }[] {
  const out: { oid: string; critical: boolean; value: Uint8Array }[] = [];
  for (const e of children(der, list.start, list.end)) {
    if (e.tag !== Tag.SEQUENCE) throw new Error('Extension is not a SEQUENCE');
    const idT = expectTlv(der, e.start, Tag.OID, 'extnID');
    let next = readTlv(der, idT.end);
    let critical = false;
    if (next.tag === Tag.BOOLEAN) {
      critical = next.length === 1 && der[next.start] !== 0;
      next = readTlv(der, next.end);
    }
    if (next.tag !== Tag.OCTET_STRING || next.end !== e.end) throw new Error('Extension: malformed extnValue');
    out.push({ oid: readOid(der, idT), critical, value: der.subarray(next.start, next.end) });
  }
  return out;
}

/** Whether a basicConstraints extnValue says cA = TRUE. */
export function basicConstraintsIsCa(value: Uint8Array): boolean {
  const s = expectTlv(value, 0, Tag.SEQUENCE, 'BasicConstraints');
  if (s.length === 0) return false;
  const first = readTlv(value, s.start);
  return first.tag === Tag.BOOLEAN && value[first.start] !== 0;
}

/**
 * A TBSCertificate, decoded (RFC 5280 §4.1):
 *   TBSCertificate ::= SEQUENCE {
 *     version [0] EXPLICIT Version DEFAULT v1, serialNumber CertificateSerialNumber,
 *     signature AlgorithmIdentifier, issuer Name, validity Validity, subject Name,
 *     subjectPublicKeyInfo SubjectPublicKeyInfo, issuerUniqueID [1] IMPLICIT UniqueIdentifier OPTIONAL,
 *     subjectUniqueID [2] IMPLICIT UniqueIdentifier OPTIONAL, extensions [3] EXPLICIT Extensions OPTIONAL }
 * Built by buildTbsCertificate above; read back here (the pre-signing lint reads what is signed).
 */
export interface ParsedTbsCertificate {
  /** 1 (v1) … 3 (v3). */
  version: number;
  /** The serialNumber INTEGER content octets, as encoded. */
  serial: Uint8Array;
  /** Raw DER AlgorithmIdentifier inside the TBS. */
  signature: Uint8Array;
  issuer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** Tags of the two Time values (UTCTime 0x17 or GeneralizedTime 0x18). */
  timeTags: [number, number];
  subject: Uint8Array;
  spki: Uint8Array;
  extensions: { oid: string; critical: boolean; value: Uint8Array }[];
}

/** Decodes a DER TBSCertificate; throws Error on malformed input. */
export function parseTbsCertificate(der: Uint8Array, tbsT: Tlv = expectTlv(der, 0, Tag.SEQUENCE, 'TBSCertificate')): ParsedTbsCertificate {
  const f = [...children(der, tbsT.start, tbsT.end)];
  let k = 0;
  let version = 1;
  if (f[k]?.tag === 0xa0) {
    const v = expectTlv(der, f[k].start, Tag.INTEGER, 'version');
    version = v.length === 1 ? der[v.start] + 1 : 0;
    k++;
  }
  const need = (tag: number, what: string): Tlv => {
    const t = f[k++];
    if (!t || t.tag !== tag) throw new Error(`TBSCertificate: expected ${what}`);
    return t;
  };
  const serialT = need(Tag.INTEGER, 'serialNumber');
  const sigT = need(Tag.SEQUENCE, 'signature');
  const issuerT = need(Tag.SEQUENCE, 'issuer');
  const validityT = need(Tag.SEQUENCE, 'validity');
  const subjectT = need(Tag.SEQUENCE, 'subject');
  const spkiT = need(Tag.SEQUENCE, 'subjectPublicKeyInfo');
  const nbT = readTlv(der, validityT.start);
  const naT = readTlv(der, nbT.end);
  if (naT.end !== validityT.end) throw new Error('TBSCertificate: malformed validity');

  let extensions: ParsedTbsCertificate['extensions'] = [];
  for (; k < f.length; k++) {
    if (f[k].tag === 0xa3) {
      extensions = parseExtensions(der, expectTlv(der, f[k].start, Tag.SEQUENCE, 'Extensions'));
    } else if (f[k].tag !== 0x81 && f[k].tag !== 0x82) {
      throw new Error(`TBSCertificate: unexpected element 0x${f[k].tag.toString(16)}`);
    }
  }
  return {
    version,
    serial: der.subarray(serialT.start, serialT.end),
    signature: tlvBytes(der, sigT),
    issuer: tlvBytes(der, issuerT),
    notBefore: decodeTime(der, nbT),
    notAfter: decodeTime(der, naT),
    timeTags: [nbT.tag, naT.tag],
    subject: tlvBytes(der, subjectT),
    spki: tlvBytes(der, spkiT),
    extensions,
  };
}

/** Fast certificate parser over the DER reader. Throws Error on malformed input. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const cert = expectTlv(der, 0, Tag.SEQUENCE, 'Certificate');
  if (cert.end !== der.length) throw new Error('Certificate: trailing data');
  const tbsT = expectTlv(der, cert.start, Tag.SEQUENCE, 'TBSCertificate');
  const sigAlgT = expectTlv(der, tbsT.end, Tag.SEQUENCE, 'signatureAlgorithm');
  const sigT = expectTlv(der, sigAlgT.end, Tag.BIT_STRING, 'signatureValue');
  if (sigT.end !== cert.end) throw new Error('Certificate: unexpected data after signature');
  const tbs = parseTbsCertificate(der, tbsT);

  let ski: Buffer | undefined;
  let sans: Identifier[] = [];
  let isCa = false;
  for (const e of tbs.extensions) {
    if (e.oid === ext.subjectKeyIdentifier) {
      const o = expectTlv(e.value, 0, Tag.OCTET_STRING, 'SubjectKeyIdentifier');
      ski = Buffer.from(e.value.subarray(o.start, o.end));
    } else if (e.oid === ext.subjectAltName) {
      sans = decodeGeneralNames(e.value);
    } else if (e.oid === ext.basicConstraints) {
      isCa = basicConstraintsIsCa(e.value);
    }
  }
  if (sigT.length < 1) throw new Error('Certificate: empty signature');
  return {
    serialHex: Buffer.from(tbs.serial).toString('hex'),
    issuer: tbs.issuer,
    subject: tbs.subject,
    notBefore: tbs.notBefore,
    notAfter: tbs.notAfter,
    spki: tbs.spki,
    tbs: tlvBytes(der, tbsT),
    signatureAlgorithm: tlvBytes(der, sigAlgT),
    signature: der.subarray(sigT.start + 1, sigT.end),
    ski,
    sans,
    isCa,
    extensions: tbs.extensions,
  };
}
