/**
 * CMS SignedData (RFC 5652 §5): decoding (BER accepted: indefinite lengths and constructed
 * OCTET STRINGs, as Bouncy Castle's streaming generator writes), encoding with a `Signer`
 * (signed attributes, several certificates and CRLs, detached or not), the degenerate
 * certs-only form (.p7b, §5.2 with no signers), and THE signer verification every protocol uses
 * (emCA request signatures, SCEP pkiMessages, CMP/EST where they carry CMS).
 *
 *   SignedData ::= SEQUENCE {
 *     version CMSVersion,
 *     digestAlgorithms DigestAlgorithmIdentifiers,     -- SET OF DigestAlgorithmIdentifier
 *     encapContentInfo EncapsulatedContentInfo,
 *     certificates [0] IMPLICIT CertificateSet OPTIONAL,
 *     crls [1] IMPLICIT RevocationInfoChoices OPTIONAL,
 *     signerInfos SignerInfos }                        -- SET OF SignerInfo
 *
 *   EncapsulatedContentInfo ::= SEQUENCE {
 *     eContentType ContentType,
 *     eContent [0] EXPLICIT OCTET STRING OPTIONAL }
 */
import { createHash, createPublicKey, timingSafeEqual, KeyObject } from 'node:crypto';
import type { Signer } from '../ca/signer.ts';
import {
  AlgorithmError,
  digestAlgorithmIdentifier,
  hashFromOid,
  signatureAlgorithmIdentifier,
  signatureOidFor,
  signatureSchemeOf,
  verifySignature,
  type HashName,
} from './algorithms.ts';
import { berBytes, berChildren, berOctets, berOid, berSmallInt, berTime, expectBer, readBer } from './ber.ts';
import { parseCertificate } from './certificate.ts';
import { CmsError, cmsOids, decodeContentInfo, encodeContentInfo } from './cms-content-info.ts';
import { identifierMatches, issuerAndSerialOf } from './cms-identifier.ts';
import { decodeSignerInfo, encodeAttributes, encodeSignerInfo, singleAttribute, type AttributeInput, type ParsedSignerInfo } from './cms-signer-info.ts';
import { Tag, explicit, implicitConstructed, integer, octetString, oid, seq, set, time } from './der.ts';

export { CmsError, cmsOids } from './cms-content-info.ts';
export { canonicalSerial } from './cms-identifier.ts';
export type { ParsedSignerInfo } from './cms-signer-info.ts';

export interface ParsedSignedData {
  version: number;
  /** eContentType. */
  contentType: string;
  /** The encapsulated content (constructed OCTET STRING pieces joined); undefined when detached. */
  content?: Buffer;
  digestAlgorithms: string[];
  /** Embedded certificates (X.509 only), as they were encoded. */
  certificates: Buffer[];
  /** Embedded CRLs, as they were encoded. */
  crls: Buffer[];
  signers: ParsedSignerInfo[];
}

// ── decode ─────────────────────────────────────────────────────────────────────────────────────

/** Parses a ContentInfo holding SignedData (DER or BER). Throws CmsError on anything malformed. */
export function parseSignedData(der: Uint8Array): ParsedSignedData {
  try {
    const buf = der;
    const ci = decodeContentInfo(buf);
    if (ci.contentType !== cmsOids.signedData) throw new Error('content type is not signedData');
    const f = berChildren(buf, expectBer(ci.content, 0x30, 'SignedData'));
    let k = 0;
    const version = berSmallInt(buf, f[k++], 'version');
    const digestAlgorithms = berChildren(buf, expectBer(f[k++], 0x31, 'digestAlgorithms')).map((a) => berOid(buf, berChildren(buf, expectBer(a, 0x30, 'DigestAlgorithmIdentifier'))[0]));
    const eci = berChildren(buf, expectBer(f[k++], 0x30, 'EncapsulatedContentInfo'));
    if (eci.length > 2) throw new Error('unexpected element in EncapsulatedContentInfo');
    const contentType = berOid(buf, eci[0], 'eContentType');
    let content: Buffer | undefined;
    if (eci[1]) {
      const inner = berChildren(buf, expectBer(eci[1], 0xa0, '[0] eContent'));
      if (inner.length !== 1 || (inner[0].tag & 0xdf) !== Tag.OCTET_STRING) throw new Error('eContent is not one OCTET STRING');
      content = berOctets(buf, inner[0]);
    }
    const certificates: Buffer[] = [];
    if (f[k]?.tag === 0xa0) {
      // Other CertificateChoices (attribute certificates, [0]..[3]) are skipped.
      for (const c of berChildren(buf, f[k++])) if (c.tag === 0x30) certificates.push(berBytes(buf, c));
    }
    const crls: Buffer[] = [];
    if (f[k]?.tag === 0xa1) {
      for (const c of berChildren(buf, f[k++])) if (c.tag === 0x30) crls.push(berBytes(buf, c));
    }
    const signerSet = expectBer(f[k++], 0x31, 'signerInfos');
    if (k !== f.length) throw new Error('unexpected element after signerInfos');
    const signers = berChildren(buf, signerSet).map((s) => decodeSignerInfo(buf, s));
    return { version, contentType, content, digestAlgorithms, certificates, crls, signers };
  } catch (e) {
    if (e instanceof CmsError) throw e;
    throw new CmsError(`not a CMS SignedData: ${(e as Error).message}`);
  }
}

/** The embedded certificate a signer identifier names, if any. */
export function signerCertificate(sd: ParsedSignedData, signer: ParsedSignerInfo): Buffer | undefined {
  for (const der of sd.certificates) {
    try {
      if (identifierMatches(signer.sid, parseCertificate(der))) return der;
    } catch {
      // not an X.509 certificate we can read: cannot be the signer's
    }
  }
  return undefined;
}

// ── verify ─────────────────────────────────────────────────────────────────────────────────────

export interface SignerVerification {
  ok: boolean;
  /** The signer's certificate (given, or found among the embedded ones). */
  certDer?: Buffer;
  /** Why verification failed: for logs, not for clients. */
  reason?: string;
}

/**
 * Verifies signer `index`: the signature (over the signed attributes, or over the content when
 * there are none), the messageDigest attribute against the content, the contentType attribute
 * against eContentType. The signer is `signer` when given — a certificate (DER; it must be the
 * one the signer identifier names) or a public key the caller has already tied to the signer —
 * else the embedded certificate the identifier names. Detached signatures need `detachedContent`.
 * Never throws: every failure is `{ ok: false, reason }`. Certificate validity, chain and
 * revocation are the caller's business.
 */
export function verifySigner(sd: ParsedSignedData, index: number, signer?: Uint8Array | KeyObject, detachedContent?: Uint8Array): SignerVerification {
  const si = sd.signers[index];
  if (!si) return { ok: false, reason: `no signer ${index}` };
  let certDer: Buffer | undefined;
  let key: KeyObject;
  try {
    if (signer instanceof KeyObject) key = signer;
    else {
      certDer = signer ? Buffer.from(signer) : signerCertificate(sd, si);
      if (!certDer) return { ok: false, reason: 'signer certificate not found' };
      const cert = parseCertificate(certDer);
      if (!identifierMatches(si.sid, cert)) return { ok: false, certDer, reason: 'signer identifier does not name the certificate' };
      key = createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
    }
  } catch (e) {
    return { ok: false, certDer, reason: `unusable signer certificate: ${(e as Error).message}` };
  }
  const content = detachedContent ?? sd.content;
  if (!content) return { ok: false, certDer, reason: 'no content (detached signature without the content)' };
  const fail = (reason: string): SignerVerification => ({ ok: false, certDer, reason });
  const hash = hashFromOid(si.digestAlgorithm);
  if (!hash) return fail(`unsupported digest algorithm ${si.digestAlgorithm}`);
  let scheme;
  try {
    scheme = signatureSchemeOf(si.signatureAlgorithmDer, hash);
  } catch (e) {
    return fail((e as Error).message);
  }
  if (!si.signedAttrsDer) {
    // RFC 5652 §5.3: without signed attributes the content must be id-data.
    if (sd.contentType !== cmsOids.data) return fail('signed attributes missing for non-data content');
    return verifySignature(scheme, key, content, si.signature) ? { ok: true, certDer } : fail('bad signature');
  }
  const ctAttr = singleAttribute(si.signedAttrs, cmsOids.contentType);
  const mdAttr = singleAttribute(si.signedAttrs, cmsOids.messageDigest);
  if (!ctAttr || !mdAttr) return fail('contentType or messageDigest attribute missing');
  try {
    if (berOid(ctAttr, readBer(ctAttr, 0)) !== sd.contentType) return fail('contentType attribute differs from eContentType');
    const expected = berOctets(mdAttr, expectBer(readBer(mdAttr, 0), Tag.OCTET_STRING, 'messageDigest'));
    const actual = createHash(hash).update(content).digest();
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return fail('messageDigest does not match the content');
  } catch (e) {
    return fail(`malformed attribute: ${(e as Error).message}`);
  }
  return verifySignature(scheme, key, si.signedAttrsDer, si.signature) ? { ok: true, certDer } : fail('bad signature');
}

/** The signingTime attribute of a signer, when present and readable. */
export function signingTime(si: ParsedSignerInfo): Date | undefined {
  const v = singleAttribute(si.signedAttrs, cmsOids.signingTime);
  if (!v) return undefined;
  try {
    return berTime(v, readBer(v, 0));
  } catch {
    return undefined;
  }
}

// ── encode ─────────────────────────────────────────────────────────────────────────────────────

export interface BuildSignedDataOptions {
  /** The content; absent: no eContent and the digest of the empty string (SCEP failure replies). */
  content?: Uint8Array;
  /** eContentType OID; default id-data. */
  contentType?: string;
  signer: Signer;
  /** The signer's certificate (DER): names the signer (IssuerAndSerialNumber) and is embedded first. */
  signerCert: Uint8Array;
  /** More certificates to embed (chain, recipient…), in this order after the signer's. */
  certificates?: Uint8Array[];
  crls?: Uint8Array[];
  /** Further signed attributes (contentType, messageDigest and signingTime are added here). */
  signedAttributes?: AttributeInput[];
  /** Digest algorithm; default the signer's own hash (SHA-512 for Ed25519, RFC 8419). */
  digest?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  /**
   * RSA only: the SignerInfo signatureAlgorithm. `rsaEncryption` (default; what OpenSSL writes,
   * and the only one some SCEP clients such as strongSwan accept) or `sha-with-rsa`
   * (sha256WithRSAEncryption and so on).
   */
  rsaSignatureOid?: 'rsaEncryption' | 'sha-with-rsa';
  /** Leave eContent out (the digest still covers `content`). */
  detached?: boolean;
  /** signingTime value; default now. `false` leaves the attribute out (PAdES baseline forbids it). */
  signingTime?: Date | false;
  /**
   * The digest of a content the signer never sees (hash signing, detached): fills messageDigest
   * instead of hashing `content`; its length must be the `digest` algorithm's.
   */
  messageDigest?: Uint8Array;
}

/** Builds a SignedData ContentInfo (DER) with one SignerInfo (version 1, IssuerAndSerialNumber). */
export async function buildSignedData(opts: BuildSignedDataOptions): Promise<Buffer> {
  const contentType = opts.contentType ?? cmsOids.data;
  const content = opts.content ?? new Uint8Array(0);
  const natural = signerHash(opts.signer);
  const hash: HashName = opts.digest ?? natural.hash;
  const reserved = new Set<string>([cmsOids.contentType, cmsOids.messageDigest, cmsOids.signingTime]);
  for (const a of opts.signedAttributes ?? []) if (reserved.has(a.oid)) throw new CmsError(`buildSignedData: attribute ${a.oid} is added automatically`);
  const digest = opts.messageDigest ? Buffer.from(opts.messageDigest) : createHash(hash).update(content).digest();
  if (digest.length !== createHash(hash).digest().length) throw new CmsError(`buildSignedData: messageDigest is not a ${hash} digest`);
  const signedAttrs = encodeAttributes([
    { oid: cmsOids.contentType, values: [oid(contentType)] },
    { oid: cmsOids.messageDigest, values: [octetString(digest)] },
    ...(opts.signingTime === false ? [] : [{ oid: cmsOids.signingTime, values: [time(opts.signingTime ?? new Date())] }]),
    ...(opts.signedAttributes ?? []),
  ]);
  const signature = await signWith(opts.signer, natural, hash, signedAttrs);
  const signerInfo = encodeSignerInfo({
    sid: issuerAndSerialOf(opts.signerCert),
    digestAlgorithm: digestAlgorithmIdentifier(hash),
    signedAttrs,
    signatureAlgorithm: signerInfoAlgorithm(opts.signer, natural, hash, opts.rsaSignatureOid ?? 'rsaEncryption'),
    signature,
  });
  const certs = uniqueDer([opts.signerCert, ...(opts.certificates ?? [])]);
  const encap = opts.detached || opts.content === undefined ? seq(oid(contentType)) : seq(oid(contentType), explicit(0, octetString(content)));
  return encodeSignedData({
    // RFC 5652 §5.1: version 3 when eContentType is not id-data, else 1 (v1 SignerInfos, X.509 certs only).
    version: contentType === cmsOids.data ? 1 : 3,
    digestAlgorithms: [digestAlgorithmIdentifier(hash)],
    encapContentInfo: encap,
    certificates: certs,
    crls: opts.crls ?? [],
    signerInfos: [signerInfo],
  });
}

/** A certs-only SignedData ContentInfo (RFC 5652 §5.2 "degenerate" case): the .p7b bundle. DER. */
export function buildCertsOnly(certs: Uint8Array[], crls: Uint8Array[] = []): Buffer {
  return encodeSignedData({ version: 1, digestAlgorithms: [], encapContentInfo: seq(oid(cmsOids.data)), certificates: certs, crls, signerInfos: [] });
}

interface SignedDataInput {
  version: number;
  digestAlgorithms: Uint8Array[];
  encapContentInfo: Uint8Array;
  certificates: Uint8Array[];
  crls: Uint8Array[];
  signerInfos: Uint8Array[];
}

function encodeSignedData(s: SignedDataInput): Buffer {
  const parts: Uint8Array[] = [integer(s.version), set(...s.digestAlgorithms), s.encapContentInfo];
  // CertificateSet and RevocationInfoChoices keep the caller's order (BER SET: clients read chains in order).
  if (s.certificates.length) parts.push(implicitConstructed(0, ...s.certificates));
  if (s.crls.length) parts.push(implicitConstructed(1, ...s.crls));
  parts.push(set(...s.signerInfos));
  return encodeContentInfo(cmsOids.signedData, seq(...parts));
}

function uniqueDer(list: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const d of list) if (!out.some((o) => Buffer.from(o).equals(d))) out.push(d);
  return out;
}

type Natural = { keyType: 'rsa' | 'ec' | 'ed25519' | 'ed448'; hash: HashName; pss: boolean };

/** The key type and hash the signer signs with when asked nothing (from its AlgorithmIdentifier). */
function signerHash(signer: Signer): Natural {
  const scheme = signatureSchemeOf(signer.algorithmIdentifier);
  const kt = signer.publicKey.asymmetricKeyType;
  if (scheme.kind === 'eddsa') return { keyType: kt === 'ed448' ? 'ed448' : 'ed25519', hash: 'sha512', pss: false };
  return { keyType: scheme.kind === 'ecdsa' ? 'ec' : 'rsa', hash: scheme.hash, pss: scheme.kind === 'pss' };
}

async function signWith(signer: Signer, natural: Natural, hash: HashName, data: Uint8Array): Promise<Buffer> {
  // EdDSA signs the attributes themselves; the digest only fills messageDigest.
  if (natural.keyType === 'ed25519' || natural.keyType === 'ed448' || hash === natural.hash) return signer.sign(data);
  if (natural.pss || !signer.signWithHash || hash === 'sha224') throw new AlgorithmError(`this signer cannot sign with ${hash}`);
  return signer.signWithHash(hash, data);
}

function signerInfoAlgorithm(signer: Signer, natural: Natural, hash: HashName, rsaOid: 'rsaEncryption' | 'sha-with-rsa'): Buffer {
  if (natural.pss) return Buffer.from(signer.algorithmIdentifier);
  switch (natural.keyType) {
    case 'rsa':
      return signatureAlgorithmIdentifier(rsaOid === 'rsaEncryption' ? '1.2.840.113549.1.1.1' : signatureOidFor('rsa', hash));
    case 'ec':
      return signatureAlgorithmIdentifier(signatureOidFor('ec', hash));
    default:
      return Buffer.from(signer.algorithmIdentifier);
  }
}

