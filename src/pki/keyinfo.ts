/** What kind of public key a SubjectPublicKeyInfo holds. */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { Tag, children, expectTlv, readOid, readTlv } from './der.ts';
import { alg } from './oids.ts';

export type KeyInfo =
  | { type: 'RSA'; bits: number }
  | { type: 'EC'; curve: string }
  | { type: 'Ed25519' }
  | { type: 'Ed448' }
  | { type: 'unknown'; oid: string };

const curveNames: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** Algorithm OID of a DER SubjectPublicKeyInfo. Throws on malformed input. */
export function spkiAlgorithmOid(spki: Uint8Array): string {
  const s = expectTlv(spki, 0, Tag.SEQUENCE, 'SubjectPublicKeyInfo');
  const a = expectTlv(spki, s.start, Tag.SEQUENCE, 'AlgorithmIdentifier');
  return readOid(spki, expectTlv(spki, a.start, Tag.OID, 'algorithm'));
}

const jwkCurves: Record<string, { crv: string; size: number }> = {
  [alg.p256]: { crv: 'P-256', size: 32 },
  [alg.p384]: { crv: 'P-384', size: 48 },
  [alg.p521]: { crv: 'P-521', size: 66 },
};

/** Big-endian unsigned INTEGER content without its sign octet, base64url (a JWK member). */
function unsignedB64(b: Uint8Array): string {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return Buffer.from(b.buffer, b.byteOffset + i, b.length - i).toString('base64url');
}

/**
 * The JWK of the common SPKI shapes (EC on a named curve with an uncompressed point, RSA
 * rsaEncryption with NULL parameters, Ed25519), or undefined for anything else.
 */
function spkiToJwk(spki: Uint8Array): Record<string, string> | undefined {
  const s = expectTlv(spki, 0, Tag.SEQUENCE, 'SubjectPublicKeyInfo');
  if (s.end !== spki.length) return undefined;
  const a = expectTlv(spki, s.start, Tag.SEQUENCE, 'AlgorithmIdentifier');
  const o = expectTlv(spki, a.start, Tag.OID, 'algorithm');
  const algOid = readOid(spki, o);
  const bits = readTlv(spki, a.end);
  if (bits.tag !== Tag.BIT_STRING || bits.end !== s.end || bits.length < 2 || spki[bits.start] !== 0) return undefined;
  const key = spki.subarray(bits.start + 1, bits.end);
  if (algOid === alg.ecPublicKey) {
    if (o.end >= a.end) return undefined;
    const c = readTlv(spki, o.end);
    if (c.tag !== Tag.OID || c.end !== a.end) return undefined;
    const curve = jwkCurves[readOid(spki, c)];
    if (!curve || key.length !== 1 + 2 * curve.size || key[0] !== 4) return undefined;
    const b64 = (from: number) => Buffer.from(key.buffer, key.byteOffset + from, curve.size).toString('base64url');
    return { kty: 'EC', crv: curve.crv, x: b64(1), y: b64(1 + curve.size) };
  }
  if (algOid === alg.rsaEncryption) {
    if (o.end >= a.end) return undefined;
    const nul = readTlv(spki, o.end);
    if (nul.tag !== Tag.NULL || nul.length !== 0 || nul.end !== a.end) return undefined;
    const seq = readTlv(key, 0);
    if (seq.tag !== Tag.SEQUENCE || seq.end !== key.length) return undefined;
    const n = readTlv(key, seq.start);
    if (n.tag !== Tag.INTEGER || n.end >= seq.end) return undefined;
    const e = readTlv(key, n.end);
    if (e.tag !== Tag.INTEGER || e.end !== seq.end) return undefined;
    // Negative or non-minimal integers go to OpenSSL's own parser (which refuses them).
    if (key[n.start] & 0x80 || key[e.start] & 0x80) return undefined;
    if ((key[n.start] === 0 && n.length > 1 && !(key[n.start + 1] & 0x80)) || (key[e.start] === 0 && e.length > 1 && !(key[e.start + 1] & 0x80))) return undefined;
    return { kty: 'RSA', n: unsignedB64(key.subarray(n.start, n.end)), e: unsignedB64(key.subarray(e.start, e.end)) };
  }
  if (algOid === alg.ed25519) {
    if (o.end !== a.end || key.length !== 32) return undefined;
    return { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key).toString('base64url') };
  }
  return undefined;
}

/**
 * Loads a DER SubjectPublicKeyInfo. The usual key shapes are loaded from their JWK form: OpenSSL 3
 * decodes DER through its provider decoder chain, about twice the cost (perf: ~110 vs ~50 µs for
 * P-256, paid once per CSR). The point or modulus is still checked by OpenSSL either way. Throws
 * what createPublicKey throws for a key it cannot load.
 */
export function importSpki(spki: Uint8Array): KeyObject {
  let jwk: Record<string, string> | undefined;
  try {
    jwk = spkiToJwk(spki);
  } catch {
    jwk = undefined;
  }
  if (jwk) return createPublicKey({ key: jwk, format: 'jwk' });
  return createPublicKey({ key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength), format: 'der', type: 'spki' });
}

/**
 * KeyInfo from a DER SubjectPublicKeyInfo, via node:crypto's asymmetricKeyDetails. EC curves are
 * `P-256`/`P-384`/`P-521` or OpenSSL's name for others. RSA-PSS keys report as RSA. A key node
 * cannot load gives `unknown` with the algorithm OID; a structurally malformed SPKI throws.
 */
export function keyInfoFromSpki(spki: Uint8Array): KeyInfo {
  const algOid = spkiAlgorithmOid(spki);
  let key: KeyObject;
  try {
    key = importSpki(spki);
  } catch {
    return { type: 'unknown', oid: algOid };
  }
  return keyInfoFromKeyObject(key, algOid);
}

/** KeyInfo of an already-loaded public key (loading one costs more than the rest of a CSR parse). */
export function keyInfoFromKeyObject(key: KeyObject, algOid: string): KeyInfo {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return { type: 'RSA', bits: d.modulusLength ?? 0 };
    case 'ec':
      return { type: 'EC', curve: curveNames[d.namedCurve ?? ''] ?? d.namedCurve ?? 'unknown' };
    case 'ed25519':
      return { type: 'Ed25519' };
    case 'ed448':
      return { type: 'Ed448' };
    default:
      return { type: 'unknown', oid: algOid };
  }
}

/** The subjectPublicKey BIT STRING contents (without the unused-bits octet): what OCSP's issuerKeyHash hashes. */
export function subjectPublicKeyBits(spki: Uint8Array): Buffer {
  const outer = readTlv(spki, 0);
  const parts = [...children(spki, outer.start, outer.end)];
  const bits = parts[1];
  return Buffer.from(spki.subarray(bits.start + 1, bits.end));
}
