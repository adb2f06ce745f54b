/**
 * CMS SignedData (RFC 5652 §5): parsing (BER accepted: indefinite lengths and constructed OCTET
 * STRINGs, as Bouncy Castle's streaming generator produces), signer-info verification with
 * node:crypto, and a certs-only builder (the "degenerate" SignedData of .p7b files, RFC 5652 §5.2
 * with no signers).
 *
 * pkijs/asn1js do the structure; node:crypto hashes and verifies. Used by emCA (signed request
 * content), and reusable by EST (/cacerts, certs-only responses) and SCEP (pkiMessage).
 */
import { createHash, createPublicKey, constants, verify as cryptoVerify, timingSafeEqual, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { explicit, implicitConstructed, integer, oid, seq, set } from './der.ts';

export const cmsOids = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
} as const;

const digestByOid: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Signature algorithms whose hash is implied by the OID (else the SignerInfo digestAlgorithm is used). */
const rsaPkcs1 = new Set([
  '1.2.840.113549.1.1.1', // rsaEncryption (what OpenSSL and Bouncy Castle write)
  '1.2.840.113549.1.1.5',
  '1.2.840.113549.1.1.14',
  '1.2.840.113549.1.1.11',
  '1.2.840.113549.1.1.12',
  '1.2.840.113549.1.1.13',
]);
const ecdsa = new Set([
  '1.2.840.10045.2.1', // id-ecPublicKey (some signers put the key algorithm here)
  '1.2.840.10045.4.1',
  '1.2.840.10045.4.3.1',
  '1.2.840.10045.4.3.2',
  '1.2.840.10045.4.3.3',
  '1.2.840.10045.4.3.4',
]);
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const ED25519 = '1.3.101.112';

export class CmsError extends Error {}

export type SignerIdentifier = { kind: 'issuerAndSerial'; issuer: Buffer; serialHex: string } | { kind: 'ski'; keyId: Buffer };

export interface ParsedSignerInfo {
  sid: SignerIdentifier;
  digestAlgorithm: string;
  signatureAlgorithm: string;
  /** DER of the signatureAlgorithm parameters, when present (RSASSA-PSS). */
  signatureParams?: Buffer;
  /** The signed attributes re-tagged as SET OF (what the signature covers), when present. */
  signedAttrs?: Buffer;
  contentTypeAttr?: string;
  messageDigest?: Buffer;
  signingTime?: Date;
  signature: Buffer;
}

export interface ParsedSignedData {
  version: number;
  eContentType: string;
  /** The encapsulated content (constructed OCTET STRING pieces joined); undefined when detached. */
  content?: Buffer;
  /** Embedded certificates, as they were encoded. */
  certificates: Buffer[];
  signers: ParsedSignerInfo[];
}

function bytes(v: ArrayBuffer | Uint8Array): Buffer {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(v);
}

/** Hex of a serial number with leading zero octets dropped (INTEGER content octets). */
export function canonicalSerial(hex: string): string {
  const h = hex.toLowerCase().replace(/^(00)+/, '');
  return h === '' ? '00' : h;
}

/**
 * Parses a ContentInfo holding SignedData (DER or BER). Throws CmsError on anything malformed.
 */
export function parseSignedData(input: Uint8Array): ParsedSignedData {
  let ci: pkijs.ContentInfo;
  let sd: pkijs.SignedData;
  try {
    const asn = asn1js.fromBER(input);
    if (asn.offset === -1) throw new Error(asn.result.error);
    if (asn.offset !== input.byteLength) throw new Error('trailing data after ContentInfo');
    ci = new pkijs.ContentInfo({ schema: asn.result });
    if (ci.contentType !== cmsOids.signedData) throw new Error(`content type ${ci.contentType} is not signedData`);
    sd = new pkijs.SignedData({ schema: ci.content });
  } catch (e) {
    throw new CmsError(`not a CMS SignedData: ${(e as Error).message}`);
  }

  let content: Buffer | undefined;
  const ec = sd.encapContentInfo.eContent;
  if (ec) {
    if (ec instanceof asn1js.OctetString) content = bytes(ec.getValue());
    else throw new CmsError('eContent is not an OCTET STRING');
  }

  const certificates: Buffer[] = [];
  for (const c of sd.certificates ?? []) {
    if (c instanceof pkijs.Certificate) {
      const raw = (c as unknown as { valueBeforeDecode?: ArrayBuffer }).valueBeforeDecode;
      certificates.push(raw && raw.byteLength ? Buffer.from(raw) : bytes(c.toSchema().toBER()));
    }
  }

  const signers: ParsedSignerInfo[] = sd.signerInfos.map((si) => {
    let sid: SignerIdentifier;
    if (si.sid instanceof pkijs.IssuerAndSerialNumber) {
      const issuerRaw = (si.sid.issuer as unknown as { valueBeforeDecode?: ArrayBuffer }).valueBeforeDecode;
      sid = {
        kind: 'issuerAndSerial',
        issuer: issuerRaw && issuerRaw.byteLength ? Buffer.from(issuerRaw) : bytes(si.sid.issuer.toSchema().toBER()),
        serialHex: canonicalSerial(bytes(si.sid.serialNumber.valueBlock.valueHexView).toString('hex')),
      };
    } else {
      const inner = si.sid as asn1js.Constructed | asn1js.Primitive;
      const view =
        inner instanceof asn1js.Constructed
          ? (inner.valueBlock.value[0] as asn1js.OctetString).valueBlock.valueHexView
          : (inner as asn1js.Primitive).valueBlock.valueHexView;
      sid = { kind: 'ski', keyId: bytes(view) };
    }
    const out: ParsedSignerInfo = {
      sid,
      digestAlgorithm: si.digestAlgorithm.algorithmId,
      signatureAlgorithm: si.signatureAlgorithm.algorithmId,
      signatureParams: si.signatureAlgorithm.algorithmParams ? bytes(si.signatureAlgorithm.algorithmParams.toBER()) : undefined,
      signature: bytes(si.signature.valueBlock.valueHexView),
    };
    if (si.signedAttrs) {
      const enc = bytes(si.signedAttrs.encodedValue);
      const der = Buffer.from(enc);
      der[0] = 0x31; // [0] IMPLICIT → SET OF (RFC 5652 §5.4)
      out.signedAttrs = der;
      for (const a of si.signedAttrs.attributes) {
        const v = a.values[0];
        if (a.type === cmsOids.messageDigest && v instanceof asn1js.OctetString) out.messageDigest = bytes(v.getValue());
        else if (a.type === cmsOids.contentType && v instanceof asn1js.ObjectIdentifier) out.contentTypeAttr = v.valueBlock.toString();
        else if (a.type === cmsOids.signingTime && (v instanceof asn1js.UTCTime || v instanceof asn1js.GeneralizedTime)) out.signingTime = v.toDate();
      }
    }
    return out;
  });

  return { version: sd.version, eContentType: sd.encapContentInfo.eContentType, content, certificates, signers };
}

function sigScheme(s: ParsedSignerInfo, key: KeyObject): (data: Buffer) => boolean {
  const hash = digestByOid[s.digestAlgorithm];
  if (!hash) throw new CmsError(`unsupported digest algorithm ${s.digestAlgorithm}`);
  const alg = s.signatureAlgorithm;
  if (alg === ED25519) return (d) => cryptoVerify(null, d, key, s.signature);
  if (rsaPkcs1.has(alg)) return (d) => cryptoVerify(hash, d, { key, padding: constants.RSA_PKCS1_PADDING }, s.signature);
  if (ecdsa.has(alg)) return (d) => cryptoVerify(hash, d, { key, dsaEncoding: 'der' }, s.signature);
  if (alg === RSASSA_PSS) {
    const p = pssParams(s.signatureParams);
    return (d) => cryptoVerify(p.hash, d, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: p.saltLength }, s.signature);
  }
  throw new CmsError(`unsupported signature algorithm ${alg}`);
}

function pssParams(der?: Buffer): { hash: string; saltLength: number } {
  if (!der) return { hash: 'sha1', saltLength: 20 };
  const p = new pkijs.RSASSAPSSParams({ schema: asn1js.fromBER(der).result });
  return { hash: digestByOid[p.hashAlgorithm.algorithmId] ?? 'sha1', saltLength: p.saltLength };
}

/**
 * Verifies one signer: the signature over the signed attributes (or the content when there are
 * none), the messageDigest attribute against the content, and the contentType attribute against
 * eContentType. `signerSpki` is the signer certificate's SubjectPublicKeyInfo (DER). Returns false
 * on any mismatch; throws CmsError only for unsupported algorithms.
 */
export function verifySigner(sd: ParsedSignedData, signer: ParsedSignerInfo, signerSpki: Uint8Array): boolean {
  if (!sd.content) return false;
  const key = createPublicKey({ key: Buffer.from(signerSpki), format: 'der', type: 'spki' });
  const check = sigScheme(signer, key);
  const hash = digestByOid[signer.digestAlgorithm];
  try {
    if (signer.signedAttrs) {
      if (!signer.messageDigest) return false;
      if (signer.contentTypeAttr && signer.contentTypeAttr !== sd.eContentType) return false;
      const digest = createHash(hash).update(sd.content).digest();
      if (digest.length !== signer.messageDigest.length || !timingSafeEqual(digest, signer.messageDigest)) return false;
      return check(signer.signedAttrs);
    }
    return check(sd.content);
  } catch {
    return false;
  }
}

/** The embedded certificate a signer identifier names, if any. */
export function signerCertificate(sd: ParsedSignedData, signer: ParsedSignerInfo, parse: (der: Buffer) => { serialHex: string; issuer: Uint8Array; ski?: Buffer }): Buffer | undefined {
  for (const der of sd.certificates) {
    let c: { serialHex: string; issuer: Uint8Array; ski?: Buffer };
    try {
      c = parse(der);
    } catch {
      continue;
    }
    if (signer.sid.kind === 'issuerAndSerial') {
      if (canonicalSerial(c.serialHex) === signer.sid.serialHex && Buffer.compare(Buffer.from(c.issuer), signer.sid.issuer) === 0) return der;
    } else if (c.ski && c.ski.equals(signer.sid.keyId)) return der;
  }
  return undefined;
}

/** A certs-only SignedData ContentInfo (RFC 5652 §5.2 "degenerate" case): the .p7b bundle. DER. */
export function buildCertsOnly(certs: Uint8Array[]): Buffer {
  return seq(
    oid(cmsOids.signedData),
    explicit(
      0,
      seq(
        integer(1),
        set(),
        seq(oid(cmsOids.data)),
        implicitConstructed(0, ...certs),
        set(),
      ),
    ),
  );
}
