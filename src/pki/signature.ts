/**
 * CMP's view of a signature AlgorithmIdentifier (protection, POP, certConf certHash), on top of THE
 * algorithm table in algorithms.ts: only algorithms whose OID names its hash (or pure EdDSA) are
 * accepted here — rsaEncryption / id-ecPublicKey (hash from a CMS digestAlgorithm) and RSASSA-PSS
 * are not CMP protection algorithms Certgate takes.
 */
import type { KeyObject } from 'node:crypto';
import type { AlgorithmIdentifier } from './algorithm-identifier.ts';
import { signatureAlgorithmByOid, verifySignature as verifyScheme, type HashName, type SignatureScheme } from './algorithms.ts';

function schemeOf(algOid: string): SignatureScheme | undefined {
  const a = signatureAlgorithmByOid(algOid);
  if (!a || a.hash === 'digest' || a.params === 'pss') return undefined;
  if (a.hash === null) return { kind: 'eddsa' };
  return a.keyType === 'rsa' ? { kind: 'rsa', hash: a.hash as HashName } : { kind: 'ecdsa', hash: a.hash as HashName };
}

/** The digest a signature algorithm uses (certConf certHash, RFC 9810 §5.3.18), if it names one. */
export function signatureHash(algOid: string): string | undefined {
  const s = schemeOf(algOid);
  if (!s) return undefined;
  // EdDSA: RFC 9481 §2 — SHA-512 for Ed25519, SHAKE256 for Ed448.
  if (s.kind === 'eddsa') return algOid === '1.3.101.112' ? 'sha512' : 'shake256';
  return s.kind === 'pss' ? undefined : s.hash;
}

export function isSupportedSignatureAlgorithm(algOid: string): boolean {
  return schemeOf(algOid) !== undefined;
}

/** True when `sig` is a valid signature of `data` by `key` under `alg`; false otherwise (never throws). */
export function verifySignature(alg: AlgorithmIdentifier, key: KeyObject, data: Uint8Array, sig: Uint8Array): boolean {
  const s = schemeOf(alg.oid);
  return s !== undefined && verifyScheme(s, key, data, sig);
}
