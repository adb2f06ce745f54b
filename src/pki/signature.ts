/**
 * Signature verification by AlgorithmIdentifier (RSA PKCS#1 v1.5, ECDSA, EdDSA), for structures
 * signed outside a certificate or CSR: CMP signature protection, CRMF POPOSigningKey.
 */
import { constants, verify, type KeyObject } from 'node:crypto';
import type { AlgorithmIdentifier } from './algorithm-identifier.ts';

const schemes: Record<string, { kind: 'rsa' | 'ecdsa' | 'eddsa'; hash: string | null }> = {
  '1.2.840.113549.1.1.5': { kind: 'rsa', hash: 'sha1' },
  '1.2.840.113549.1.1.14': { kind: 'rsa', hash: 'sha224' },
  '1.2.840.113549.1.1.11': { kind: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { kind: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { kind: 'rsa', hash: 'sha512' },
  '1.2.840.10045.4.1': { kind: 'ecdsa', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { kind: 'ecdsa', hash: 'sha224' },
  '1.2.840.10045.4.3.2': { kind: 'ecdsa', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { kind: 'ecdsa', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { kind: 'ecdsa', hash: 'sha512' },
  '1.3.101.112': { kind: 'eddsa', hash: null },
  '1.3.101.113': { kind: 'eddsa', hash: null },
};

/** The digest a signature algorithm uses (certConf certHash, RFC 9810 §5.3.18), if it names one. */
export function signatureHash(algOid: string): string | undefined {
  const s = schemes[algOid];
  if (!s) return undefined;
  // EdDSA: RFC 9481 §2 — SHA-512 for Ed25519, SHAKE256 for Ed448.
  return s.hash ?? (algOid === '1.3.101.112' ? 'sha512' : 'shake256');
}

export function isSupportedSignatureAlgorithm(algOid: string): boolean {
  return algOid in schemes;
}

/** True when `sig` is a valid signature of `data` by `key` under `alg`; false otherwise (never throws). */
export function verifySignature(alg: AlgorithmIdentifier, key: KeyObject, data: Uint8Array, sig: Uint8Array): boolean {
  const s = schemes[alg.oid];
  if (!s) return false;
  const kt = key.asymmetricKeyType;
  try {
    if (s.kind === 'rsa') return kt === 'rsa' && verify(s.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, sig);
    if (s.kind === 'ecdsa') return kt === 'ec' && verify(s.hash, data, key, sig);
    return (kt === 'ed25519' || kt === 'ed448') && verify(null, data, key, sig);
  } catch {
    return false;
  }
}
