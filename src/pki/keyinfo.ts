/** What kind of public key a SubjectPublicKeyInfo holds. */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { Tag, expectTlv, readOid } from './der.ts';

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

/**
 * KeyInfo from a DER SubjectPublicKeyInfo, via node:crypto's asymmetricKeyDetails. EC curves are
 * `P-256`/`P-384`/`P-521` or OpenSSL's name for others. RSA-PSS keys report as RSA. A key node
 * cannot load gives `unknown` with the algorithm OID; a structurally malformed SPKI throws.
 */
export function keyInfoFromSpki(spki: Uint8Array): KeyInfo {
  const algOid = spkiAlgorithmOid(spki);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength), format: 'der', type: 'spki' });
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
