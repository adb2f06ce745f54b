/**
 * THE algorithm table: every signature, digest, content-encryption and key-transport algorithm
 * Certgate reads or writes, by OID, with what node:crypto needs to use it. CSRs, certificates,
 * CMS SignedData/EnvelopedData and the protocols all look algorithms up here — nowhere else.
 */
import { constants, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { Tag, children, decodeInteger, expectTlv, explicit, nullValue, oid, readOid, readTlv, seq, tlvBytes, type Tlv } from './der.ts';

// ── digests ─────────────────────────────────────────────────────────────────────────────────

export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

export const digestAlgorithms: Record<HashName, { oid: string; length: number }> = {
  sha1: { oid: '1.3.14.3.2.26', length: 20 },
  sha224: { oid: '2.16.840.1.101.3.4.2.4', length: 28 },
  sha256: { oid: '2.16.840.1.101.3.4.2.1', length: 32 },
  sha384: { oid: '2.16.840.1.101.3.4.2.2', length: 48 },
  sha512: { oid: '2.16.840.1.101.3.4.2.3', length: 64 },
};

const hashByOid = new Map(Object.entries(digestAlgorithms).map(([name, d]) => [d.oid, name as HashName]));

export function hashFromOid(oidStr: string): HashName | undefined {
  return hashByOid.get(oidStr);
}

/** DigestAlgorithmIdentifier without parameters (RFC 5754 §2: absent, not NULL). */
export function digestAlgorithmIdentifier(hash: HashName): Buffer {
  return seq(oid(digestAlgorithms[hash].oid));
}

// ── signature algorithms ────────────────────────────────────────────────────────────────────

export type SignatureKeyType = 'rsa' | 'ec' | 'ed25519' | 'ed448';

export interface SignatureAlgorithm {
  oid: string;
  name: string;
  keyType: SignatureKeyType;
  /** The hash the OID names; null for pure EdDSA; 'digest' when it comes from the CMS digestAlgorithm. */
  hash: HashName | null | 'digest';
  /** Parameters in the AlgorithmIdentifier: NULL (PKCS#1 RSA), absent (ECDSA, EdDSA) or RSASSA-PSS-params. */
  params: 'null' | 'absent' | 'pss';
}

const sigTable: SignatureAlgorithm[] = [
  { oid: '1.2.840.113549.1.1.5', name: 'sha1WithRSAEncryption', keyType: 'rsa', hash: 'sha1', params: 'null' },
  { oid: '1.2.840.113549.1.1.14', name: 'sha224WithRSAEncryption', keyType: 'rsa', hash: 'sha224', params: 'null' },
  { oid: '1.2.840.113549.1.1.11', name: 'sha256WithRSAEncryption', keyType: 'rsa', hash: 'sha256', params: 'null' },
  { oid: '1.2.840.113549.1.1.12', name: 'sha384WithRSAEncryption', keyType: 'rsa', hash: 'sha384', params: 'null' },
  { oid: '1.2.840.113549.1.1.13', name: 'sha512WithRSAEncryption', keyType: 'rsa', hash: 'sha512', params: 'null' },
  // rsaEncryption as a CMS SignerInfo signatureAlgorithm (RFC 3370 §3.2): what OpenSSL writes, and
  // the only RSA spelling some SCEP clients (strongSwan) accept there. The hash is the digestAlgorithm.
  { oid: '1.2.840.113549.1.1.1', name: 'rsaEncryption', keyType: 'rsa', hash: 'digest', params: 'null' },
  { oid: '1.2.840.113549.1.1.10', name: 'RSASSA-PSS', keyType: 'rsa', hash: 'digest', params: 'pss' },
  { oid: '1.2.840.10045.4.1', name: 'ecdsa-with-SHA1', keyType: 'ec', hash: 'sha1', params: 'absent' },
  { oid: '1.2.840.10045.4.3.1', name: 'ecdsa-with-SHA224', keyType: 'ec', hash: 'sha224', params: 'absent' },
  { oid: '1.2.840.10045.4.3.2', name: 'ecdsa-with-SHA256', keyType: 'ec', hash: 'sha256', params: 'absent' },
  { oid: '1.2.840.10045.4.3.3', name: 'ecdsa-with-SHA384', keyType: 'ec', hash: 'sha384', params: 'absent' },
  { oid: '1.2.840.10045.4.3.4', name: 'ecdsa-with-SHA512', keyType: 'ec', hash: 'sha512', params: 'absent' },
  // id-ecPublicKey: some CMS signers put the key algorithm here; the hash is the digestAlgorithm.
  { oid: '1.2.840.10045.2.1', name: 'id-ecPublicKey', keyType: 'ec', hash: 'digest', params: 'absent' },
  { oid: '1.3.101.112', name: 'Ed25519', keyType: 'ed25519', hash: null, params: 'absent' },
  { oid: '1.3.101.113', name: 'Ed448', keyType: 'ed448', hash: null, params: 'absent' },
];

const sigByOid = new Map(sigTable.map((a) => [a.oid, a]));

export function signatureAlgorithmByOid(oidStr: string): SignatureAlgorithm | undefined {
  return sigByOid.get(oidStr);
}

/** The OID of `<hash>WithRSAEncryption` / `ecdsa-with-<hash>`. */
export function signatureOidFor(keyType: 'rsa' | 'ec', hash: HashName): string {
  const a = sigTable.find((s) => s.keyType === keyType && s.hash === hash);
  if (!a) throw new Error(`no ${keyType} signature algorithm with ${hash}`);
  return a.oid;
}

/** DER AlgorithmIdentifier for a table entry (NULL parameters for PKCS#1 RSA, none otherwise). */
export function signatureAlgorithmIdentifier(oidStr: string): Buffer {
  const a = sigByOid.get(oidStr);
  if (!a || a.params === 'pss') throw new Error(`signatureAlgorithmIdentifier: ${oidStr} needs explicit parameters`);
  return a.params === 'null' ? seq(oid(a.oid), nullValue()) : seq(oid(a.oid));
}

/** How node:crypto verifies (or signs) one signature. */
export type SignatureScheme =
  | { kind: 'rsa'; hash: HashName }
  | { kind: 'pss'; hash: HashName; saltLength: number }
  | { kind: 'ecdsa'; hash: HashName }
  | { kind: 'eddsa' };

/** An unsupported or malformed algorithm; the message is safe to show to a client. */
export class AlgorithmError extends Error {}

function fail(msg: string): never {
  throw new AlgorithmError(msg);
}

/** A DER AlgorithmIdentifier split into its OID and parameters (absent when missing). */
export function readAlgorithmIdentifier(buf: Uint8Array, t: Tlv): { oid: string; params?: Tlv } {
  if (t.tag !== Tag.SEQUENCE) fail('AlgorithmIdentifier is not a SEQUENCE');
  const o = expectTlv(buf, t.start, Tag.OID, 'algorithm');
  const params = o.end < t.end ? readTlv(buf, o.end) : undefined;
  if (params && params.end !== t.end) fail('AlgorithmIdentifier has trailing data');
  return { oid: readOid(buf, o), params };
}

function paramHash(buf: Uint8Array, t: Tlv, what: string): HashName {
  const a = readAlgorithmIdentifier(buf, t);
  const h = hashFromOid(a.oid);
  if (!h) fail(`unsupported ${what} hash algorithm ${a.oid}`);
  if (a.params && a.params.tag !== Tag.NULL) fail(`malformed ${what} hash parameters`);
  return h;
}

const MGF1 = '1.2.840.113549.1.1.8';

/**
 * RSASSA-PSS-params (RFC 4055 §3.1):
 *
 *   RSASSA-PSS-params ::= SEQUENCE {
 *     hashAlgorithm      [0] HashAlgorithm    DEFAULT sha1,
 *     maskGenAlgorithm   [1] MaskGenAlgorithm DEFAULT mgf1SHA1,
 *     saltLength         [2] INTEGER          DEFAULT 20,
 *     trailerField       [3] TrailerField     DEFAULT trailerFieldBC }
 *
 * Node's MGF1 always uses the message hash, so the two hashes must match.
 */
export function decodePssParams(buf: Uint8Array, params: Tlv | undefined): { hash: HashName; saltLength: number } {
  let hash: HashName = 'sha1';
  let mgfHash: HashName = 'sha1';
  let saltLength = 20;
  if (params && params.tag !== Tag.NULL) {
    if (params.tag !== Tag.SEQUENCE) fail('malformed RSASSA-PSS parameters');
    for (const f of children(buf, params.start, params.end)) {
      const inner = readTlv(buf, f.start);
      if (inner.end !== f.end) fail('malformed RSASSA-PSS parameters');
      if (f.tag === 0xa0) hash = paramHash(buf, inner, 'RSASSA-PSS');
      else if (f.tag === 0xa1) {
        const m = readAlgorithmIdentifier(buf, inner);
        if (m.oid !== MGF1 || !m.params) fail(`unsupported RSASSA-PSS mask generation function ${m.oid}`);
        mgfHash = paramHash(buf, m.params, 'MGF1');
      } else if (f.tag === 0xa2) {
        if (inner.tag !== Tag.INTEGER) fail('malformed RSASSA-PSS saltLength');
        const v = decodeInteger(buf, inner.start, inner.end);
        if (v < 0n || v > 1024n) fail('RSASSA-PSS saltLength out of range');
        saltLength = Number(v);
      } else if (f.tag === 0xa3) {
        if (inner.tag !== Tag.INTEGER || decodeInteger(buf, inner.start, inner.end) !== 1n) fail('unsupported RSASSA-PSS trailerField');
      } else fail('malformed RSASSA-PSS parameters');
    }
  }
  if (mgfHash !== hash) fail(`unsupported RSASSA-PSS parameters: MGF1 hash ${mgfHash} differs from ${hash}`);
  return { hash, saltLength };
}

/**
 * The scheme for a signature AlgorithmIdentifier (`buf`/`t` its DER). `digest` is the CMS
 * SignerInfo digestAlgorithm: required for rsaEncryption / id-ecPublicKey, and must agree with
 * the hash an OID or PSS parameters name (RFC 5652 §5.4 signs the attributes with that digest).
 */
export function signatureScheme(buf: Uint8Array, t: Tlv, digest?: HashName): SignatureScheme {
  const { oid: o, params } = readAlgorithmIdentifier(buf, t);
  const a = sigByOid.get(o);
  if (!a) fail(`unsupported signature algorithm ${o}`);
  if (a.params === 'absent' && params) fail(`malformed ${a.name} AlgorithmIdentifier: unexpected parameters`);
  if (a.params === 'null' && params && params.tag !== Tag.NULL) fail(`malformed ${a.name} parameters`);
  if (a.keyType === 'ed25519' || a.keyType === 'ed448') return { kind: 'eddsa' };
  if (a.params === 'pss') {
    const p = decodePssParams(buf, params);
    if (digest && digest !== p.hash) fail(`RSASSA-PSS hash ${p.hash} differs from the digest algorithm ${digest}`);
    return { kind: 'pss', ...p };
  }
  const hash = a.hash === 'digest' ? digest : a.hash;
  if (!hash) fail(`${a.name} needs a digest algorithm`);
  if (digest && hash !== digest) fail(`${a.name} differs from the digest algorithm ${digest}`);
  return a.keyType === 'rsa' ? { kind: 'rsa', hash } : { kind: 'ecdsa', hash };
}

/** `signatureScheme` of a standalone DER AlgorithmIdentifier. */
export function signatureSchemeOf(algorithmIdentifier: Uint8Array, digest?: HashName): SignatureScheme {
  return signatureScheme(algorithmIdentifier, readTlv(algorithmIdentifier, 0), digest);
}

/** Verifies with node:crypto; false (never a throw) on a key of the wrong type or a bad signature. */
export function verifySignature(scheme: SignatureScheme, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const kt = key.asymmetricKeyType;
  try {
    switch (scheme.kind) {
      case 'rsa':
        return kt === 'rsa' && nodeVerify(scheme.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'pss':
        return (kt === 'rsa' || kt === 'rsa-pss') && nodeVerify(scheme.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }, signature);
      case 'ecdsa':
        return kt === 'ec' && nodeVerify(scheme.hash, data, { key, dsaEncoding: 'der' }, signature);
      case 'eddsa':
        return (kt === 'ed25519' || kt === 'ed448') && nodeVerify(null, data, key, signature);
    }
  } catch {
    return false;
  }
}

/**
 * The signature AlgorithmIdentifier and hash a key signs with by default: EC P-256/384/521 →
 * ecdsa-with-SHA256/384/512; RSA → sha256WithRSAEncryption; Ed25519/Ed448 → pure EdDSA.
 */
/** The digest each supported curve signs with (brainpool for CV certificates, TR-03110). */
const curveHash: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  prime256v1: 'sha256',
  secp384r1: 'sha384',
  secp521r1: 'sha512',
  brainpoolP256r1: 'sha256',
  brainpoolP384r1: 'sha384',
  brainpoolP512r1: 'sha512',
};

export function defaultSignatureAlgorithm(key: KeyObject): { algorithmIdentifier: Buffer; hash: 'sha256' | 'sha384' | 'sha512' | null } {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const hash = curveHash[curve ?? ''];
      if (!hash) throw new Error(`signatureAlgorithmFor: unsupported EC curve ${curve}`);
      return { algorithmIdentifier: signatureAlgorithmIdentifier(signatureOidFor('ec', hash)), hash };
    }
    case 'rsa':
      return { algorithmIdentifier: signatureAlgorithmIdentifier(signatureOidFor('rsa', 'sha256')), hash: 'sha256' };
    case 'ed25519':
      return { algorithmIdentifier: signatureAlgorithmIdentifier('1.3.101.112'), hash: null };
    case 'ed448':
      return { algorithmIdentifier: signatureAlgorithmIdentifier('1.3.101.113'), hash: null };
    default:
      throw new Error(`signatureAlgorithmFor: unsupported key type ${key.asymmetricKeyType}`);
  }
}

// ── content encryption (RFC 3565 AES-CBC, RFC 5084 AES-GCM, RFC 3370 DES) ─────────────────────

export type ContentCipher = 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' | 'aes-128-gcm' | 'aes-256-gcm' | 'des-ede3-cbc' | 'des-cbc';

export interface ContentCipherInfo {
  oid: string;
  keyLength: number;
  /** CBC IV length, or the GCM nonce length we write (12, RFC 5084 §3.2's recommendation). */
  ivLength: number;
  mode: 'cbc' | 'gcm';
}

export const contentCiphers: Record<ContentCipher, ContentCipherInfo> = {
  'aes-128-cbc': { oid: '2.16.840.1.101.3.4.1.2', keyLength: 16, ivLength: 16, mode: 'cbc' },
  'aes-192-cbc': { oid: '2.16.840.1.101.3.4.1.22', keyLength: 24, ivLength: 16, mode: 'cbc' },
  'aes-256-cbc': { oid: '2.16.840.1.101.3.4.1.42', keyLength: 32, ivLength: 16, mode: 'cbc' },
  'aes-128-gcm': { oid: '2.16.840.1.101.3.4.1.6', keyLength: 16, ivLength: 12, mode: 'gcm' },
  'aes-256-gcm': { oid: '2.16.840.1.101.3.4.1.46', keyLength: 32, ivLength: 12, mode: 'gcm' },
  'des-ede3-cbc': { oid: '1.2.840.113549.3.7', keyLength: 24, ivLength: 8, mode: 'cbc' },
  'des-cbc': { oid: '1.3.14.3.2.7', keyLength: 8, ivLength: 8, mode: 'cbc' },
};

const cipherByOid = new Map(Object.entries(contentCiphers).map(([name, c]) => [c.oid, name as ContentCipher]));

export function contentCipherFromOid(oidStr: string): ContentCipher | undefined {
  return cipherByOid.get(oidStr);
}

// ── key transport (RFC 3370 §4.2, RFC 8017 / RFC 4055 §4) ────────────────────────────────────

export const keyTransport = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: MGF1,
  pSpecified: '1.2.840.113549.1.1.9',
} as const;

/**
 * RSAES-OAEP-params (RFC 4055 §4.1), encoded and decoded. The hash and the MGF1 hash must match
 * (node uses one hash for both); a non-empty label is refused.
 *
 *   RSAES-OAEP-params ::= SEQUENCE {
 *     hashFunc          [0] AlgorithmIdentifier DEFAULT sha1Identifier,
 *     maskGenFunc       [1] AlgorithmIdentifier DEFAULT mgf1SHA1Identifier,
 *     pSourceFunc       [2] AlgorithmIdentifier DEFAULT pSpecifiedEmptyIdentifier }
 */
export function encodeOaepParams(hash: 'sha1' | 'sha256' | 'sha384' | 'sha512'): Buffer {
  if (hash === 'sha1') return seq(); // every field at its DEFAULT
  const h = seq(oid(digestAlgorithms[hash].oid));
  return seq(explicit(0, h), explicit(1, seq(oid(MGF1), h)));
}

export function decodeOaepParams(buf: Uint8Array, params: Tlv | undefined): 'sha1' | 'sha256' | 'sha384' | 'sha512' {
  let hash: HashName = 'sha1';
  let mgfHash: HashName = 'sha1';
  if (params && params.tag !== Tag.NULL) {
    if (params.tag !== Tag.SEQUENCE) fail('malformed RSAES-OAEP parameters');
    for (const f of children(buf, params.start, params.end)) {
      const inner = readTlv(buf, f.start);
      if (f.tag === 0xa0) hash = paramHash(buf, inner, 'RSAES-OAEP');
      else if (f.tag === 0xa1) {
        const m = readAlgorithmIdentifier(buf, inner);
        if (m.oid !== MGF1 || !m.params) fail(`unsupported RSAES-OAEP mask generation function ${m.oid}`);
        mgfHash = paramHash(buf, m.params, 'MGF1');
      } else if (f.tag === 0xa2) {
        const p = readAlgorithmIdentifier(buf, inner);
        const label = p.params ? tlvBytes(buf, p.params) : undefined;
        if (p.oid !== keyTransport.pSpecified || (label && !(label.length === 2 && label[0] === Tag.OCTET_STRING))) fail('unsupported RSAES-OAEP label');
      } else fail('malformed RSAES-OAEP parameters');
    }
  }
  if (mgfHash !== hash) fail(`unsupported RSAES-OAEP parameters: MGF1 hash ${mgfHash} differs from ${hash}`);
  if (hash === 'sha224') fail('unsupported RSAES-OAEP hash sha224');
  return hash;
}
