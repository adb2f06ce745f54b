/**
 * CMS SignedData (RFC 5652 §5): parsing (BER accepted: indefinite lengths and constructed OCTET
 * STRINGs, as Bouncy Castle's streaming generator produces) with a small BER reader (pkijs took
 * ~15 ms per message here, this takes well under one), signer-info verification with
 * node:crypto, and a certs-only builder (the "degenerate" SignedData of .p7b files, RFC 5652 §5.2
 * with no signers).
 *
 * node:crypto hashes and verifies; pkijs only decodes RSASSA-PSS parameters. Used by emCA (signed request
 * content), and reusable by EST (/cacerts, certs-only responses) and SCEP (pkiMessage).
 */
import { createHash, createPublicKey, constants, verify as cryptoVerify, timingSafeEqual, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { decodeOid, explicit, implicitConstructed, integer, oid, seq, set } from './der.ts';

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

/** Hex of a serial number with leading zero octets dropped (INTEGER content octets). */
export function canonicalSerial(hex: string): string {
  const h = hex.toLowerCase().replace(/^(00)+/, '');
  return h === '' ? '00' : h;
}

// ── a small BER reader (indefinite lengths, constructed strings) ────────────────────────────

interface Ber {
  tag: number;
  constructed: boolean;
  /** First content octet. */
  start: number;
  /** Just past the last content octet (before the end-of-contents octets when indefinite). */
  end: number;
  /** Offset of the next TLV. */
  next: number;
  /** Offset of the identifier octet. */
  at: number;
  indefinite: boolean;
}

const MAX_DEPTH = 64;

function readBer(buf: Uint8Array, offset: number, limit = buf.length, depth = 0): Ber {
  if (depth > MAX_DEPTH) throw new Error('BER: nested too deeply');
  let p = offset;
  if (p >= limit) throw new Error('BER: truncated (expected a tag)');
  const first = buf[p++];
  let tag = first;
  if ((first & 0x1f) === 0x1f) {
    let count = 0;
    let b: number;
    do {
      if (p >= limit) throw new Error('BER: truncated tag');
      b = buf[p++];
      tag = tag * 256 + b;
      if (++count > 3) throw new Error('BER: tag too large');
    } while (b & 0x80);
  }
  const constructed = (first & 0x20) !== 0;
  if (p >= limit) throw new Error('BER: truncated (expected a length)');
  const l0 = buf[p++];
  if (l0 === 0x80) {
    if (!constructed) throw new Error('BER: indefinite length on a primitive value');
    const start = p;
    let q = p;
    for (;;) {
      if (q + 2 > limit) throw new Error('BER: missing end-of-contents');
      if (buf[q] === 0 && buf[q + 1] === 0) return { tag, constructed, start, end: q, next: q + 2, at: offset, indefinite: true };
      q = readBer(buf, q, limit, depth + 1).next;
    }
  }
  let len = l0;
  if (l0 > 0x80) {
    const k = l0 & 0x7f;
    if (k > 4 || p + k > limit) throw new Error('BER: bad length');
    len = 0;
    for (let i = 0; i < k; i++) len = len * 256 + buf[p++];
  }
  const end = p + len;
  if (end > limit) throw new Error('BER: truncated value');
  return { tag, constructed, start: p, end, next: end, at: offset, indefinite: false };
}

function berChildren(buf: Uint8Array, parent: Ber): Ber[] {
  const out: Ber[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const c = readBer(buf, p, parent.end);
    out.push(c);
    p = c.next;
  }
  return out;
}

function expectBer(b: Ber | undefined, tag: number, what: string): Ber {
  if (!b || b.tag !== tag) throw new Error(`expected ${what}`);
  return b;
}

/** The whole encoding of a definite-length TLV (signatures cover DER: indefinite forms are refused there). */
function rawDefinite(buf: Uint8Array, b: Ber, what: string): Buffer {
  if (b.indefinite) throw new Error(`${what} is not DER`);
  return Buffer.from(buf.subarray(b.at, b.next));
}

/** OCTET STRING contents, primitive or constructed (chunks joined, recursively). */
function octets(buf: Uint8Array, b: Ber): Buffer {
  if ((b.tag & 0x1f) !== 0x04) throw new Error('expected an OCTET STRING');
  if (!b.constructed) return Buffer.from(buf.subarray(b.start, b.end));
  return Buffer.concat(berChildren(buf, b).map((c) => octets(buf, c)));
}

function oidOf(buf: Uint8Array, b: Ber): string {
  if (b.tag !== 0x06 || b.constructed) throw new Error('expected an OBJECT IDENTIFIER');
  return decodeOid(buf, b.start, b.end);
}

function algorithm(buf: Uint8Array, b: Ber): { oid: string; params?: Buffer } {
  const [o, params] = berChildren(buf, expectBer(b, 0x30, 'AlgorithmIdentifier'));
  return { oid: oidOf(buf, o), params: params && params.tag !== 0x05 ? Buffer.from(buf.subarray(params.at, params.next)) : undefined };
}

function smallInt(buf: Uint8Array, b: Ber): number {
  if (b.tag !== 0x02 || b.end - b.start > 4 || b.end === b.start) throw new Error('expected a small INTEGER');
  let v = 0;
  for (let i = b.start; i < b.end; i++) v = v * 256 + buf[i];
  return v;
}

function berTime(buf: Uint8Array, b: Ber): Date | undefined {
  const s = Buffer.from(buf.subarray(b.start, b.end)).toString('latin1');
  const m = b.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(s);
  if (!m) return undefined;
  const y = b.tag === 0x17 ? (Number(m[1]) >= 50 ? 1900 : 2000) + Number(m[1]) : Number(m[1]);
  return new Date(Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/**
 * Parses a ContentInfo holding SignedData (DER or BER). Throws CmsError on anything malformed.
 */
export function parseSignedData(input: Uint8Array): ParsedSignedData {
  try {
    const buf = input;
    const ci = readBer(buf, 0);
    if (ci.next !== buf.length) throw new Error('trailing data after ContentInfo');
    const [ctype, wrapped] = berChildren(buf, expectBer(ci, 0x30, 'ContentInfo'));
    if (oidOf(buf, ctype) !== cmsOids.signedData) throw new Error('content type is not signedData');
    const sdT = expectBer(berChildren(buf, expectBer(wrapped, 0xa0, '[0] content'))[0], 0x30, 'SignedData');
    const f = berChildren(buf, sdT);
    let k = 0;
    const version = smallInt(buf, expectBer(f[k++], 0x02, 'version'));
    expectBer(f[k++], 0x31, 'digestAlgorithms');
    const eci = berChildren(buf, expectBer(f[k++], 0x30, 'EncapsulatedContentInfo'));
    const eContentType = oidOf(buf, eci[0]);
    let content: Buffer | undefined;
    if (eci[1]) content = octets(buf, berChildren(buf, expectBer(eci[1], 0xa0, '[0] eContent'))[0]);
    const certificates: Buffer[] = [];
    if (f[k]?.tag === 0xa0) {
      for (const c of berChildren(buf, f[k++])) if (c.tag === 0x30 && !c.indefinite) certificates.push(Buffer.from(buf.subarray(c.at, c.next)));
    }
    if (f[k]?.tag === 0xa1) k++; // crls
    const signerSet = expectBer(f[k++], 0x31, 'signerInfos');
    if (k !== f.length) throw new Error('unexpected element after signerInfos');
    const signers = berChildren(buf, signerSet).map((siT) => {
      const g = berChildren(buf, expectBer(siT, 0x30, 'SignerInfo'));
      let j = 1; // version
      const sidT = g[j++];
      let sid: SignerIdentifier;
      if (sidT?.tag === 0x30) {
        const [nameT, serialT] = berChildren(buf, sidT);
        expectBer(serialT, 0x02, 'serialNumber');
        sid = {
          kind: 'issuerAndSerial',
          issuer: rawDefinite(buf, expectBer(nameT, 0x30, 'issuer Name'), 'issuer Name'),
          serialHex: canonicalSerial(Buffer.from(buf.subarray(serialT.start, serialT.end)).toString('hex')),
        };
      } else if (sidT?.tag === 0x80 || sidT?.tag === 0xa0) {
        sid = { kind: 'ski', keyId: sidT.tag === 0x80 ? Buffer.from(buf.subarray(sidT.start, sidT.end)) : octets(buf, berChildren(buf, sidT)[0]) };
      } else throw new Error('bad SignerIdentifier');
      const digest = algorithm(buf, g[j++]);
      const out: Partial<ParsedSignerInfo> & { sid: SignerIdentifier } = { sid, digestAlgorithm: digest.oid };
      if (g[j]?.tag === 0xa0) {
        const attrsT = g[j++];
        const der = rawDefinite(buf, attrsT, 'signed attributes');
        der[0] = 0x31; // [0] IMPLICIT → SET OF (RFC 5652 §5.4)
        out.signedAttrs = der;
        for (const a of berChildren(buf, attrsT)) {
          const [typeT, valuesT] = berChildren(buf, expectBer(a, 0x30, 'Attribute'));
          const type = oidOf(buf, typeT);
          const v = berChildren(buf, expectBer(valuesT, 0x31, 'attribute values'))[0];
          if (!v) continue;
          if (type === cmsOids.messageDigest) out.messageDigest = octets(buf, v);
          else if (type === cmsOids.contentType) out.contentTypeAttr = oidOf(buf, v);
          else if (type === cmsOids.signingTime && (v.tag === 0x17 || v.tag === 0x18)) out.signingTime = berTime(buf, v);
        }
      }
      const sigAlg = algorithm(buf, g[j++]);
      out.signatureAlgorithm = sigAlg.oid;
      out.signatureParams = sigAlg.params;
      out.signature = octets(buf, expectBer(g[j++], 0x04, 'signature') as Ber);
      return out as ParsedSignerInfo;
    });
    return { version, eContentType, content, certificates, signers };
  } catch (e) {
    throw new CmsError(`not a CMS SignedData: ${(e as Error).message}`);
  }
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
 * eContentType. `signerKey` is the signer certificate's SubjectPublicKeyInfo (DER) or its KeyObject. Returns false
 * on any mismatch; throws CmsError only for unsupported algorithms.
 */
export function verifySigner(sd: ParsedSignedData, signer: ParsedSignerInfo, signerKey: Uint8Array | KeyObject): boolean {
  if (!sd.content) return false;
  const key = signerKey instanceof Uint8Array ? createPublicKey({ key: Buffer.from(signerKey), format: 'der', type: 'spki' }) : signerKey;
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
