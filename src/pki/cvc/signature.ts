/**
 * Terminal-authentication signatures (TR-03110-3 A.7.5, D.3): ECDSA in the plain r‖s form (BSI
 * TR-03111), RSA PKCS#1 v1.5 or PSS (written with salt length = hash length, verified with any).
 * Signers hand out X.509-style DER ECDSA signatures; this converts them.
 */
import { constants, createHash, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { curveOfKey } from './public-key.ts';
import { taOid, taAlgorithm, type TaAlgorithm } from './oids.ts';

/** What signs a CV body: a key store handle's signer (its `sign` uses the curve's hash). */
export interface CvSigner {
  readonly publicKey: KeyObject;
  sign(data: Uint8Array): Buffer | Promise<Buffer>;
}

/** The TA algorithm a signer's key signs with (the curve's hash; RSA: v1.5 with SHA-256). */
export function taAlgorithmFor(key: KeyObject): TaAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return taAlgorithm(taOid('rsa-v1_5', 'sha256'))!;
  return taAlgorithm(taOid('ecdsa', curveOfKey(key).hash))!;
}

/** Signs `data` and returns the CV signature (plain r‖s for ECDSA). */
export async function cvSign(signer: CvSigner, data: Uint8Array): Promise<Buffer> {
  const sig = await signer.sign(data);
  if (signer.publicKey.asymmetricKeyType !== 'ec') return sig;
  return derToPlain(sig, curveOfKey(signer.publicKey).size);
}

/** Verifies a CV signature; never throws. */
export function cvVerify(alg: TaAlgorithm, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (alg.kind === 'ecdsa') {
      if (key.asymmetricKeyType !== 'ec' || signature.length !== 2 * curveOfKey(key).size) return false;
      return nodeVerify(alg.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    if (key.asymmetricKeyType !== 'rsa') return false;
    if (alg.kind === 'rsa-v1_5') return nodeVerify(alg.hash, data, key, signature);
    // Any salt length verifies: OpenSSL-based signers (OpenPACE) use the longest salt, not the
    // hash length that cvcSignWithKey writes.
    return nodeVerify(alg.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature);
  } catch {
    return false;
  }
}

/** Signs with a node private key directly (tests, foreign material); plain r‖s for EC. */
export function cvSignWithKey(alg: TaAlgorithm, key: KeyObject, data: Uint8Array): Buffer {
  if (alg.kind === 'ecdsa') return nodeSign(alg.hash, data, { key, dsaEncoding: 'ieee-p1363' });
  if (alg.kind === 'rsa-v1_5') return nodeSign(alg.hash, data, key);
  return nodeSign(alg.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: createHash(alg.hash).digest().length });
}

/** ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }) to r‖s, each left-padded to `size`. */
export function derToPlain(der: Buffer, size: number): Buffer {
  let p = 0;
  if (der[p++] !== 0x30) throw new Error('ECDSA signature: SEQUENCE expected');
  p += der[p] & 0x80 ? 1 + (der[p] & 0x7f) : 1;
  const ints: Buffer[] = [];
  for (let i = 0; i < 2; i++) {
    if (der[p++] !== 0x02) throw new Error('ECDSA signature: INTEGER expected');
    const len = der[p++];
    let v = der.subarray(p, p + len);
    p += len;
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw new Error('ECDSA signature: integer longer than the field');
    ints.push(Buffer.concat([Buffer.alloc(size - v.length), v]));
  }
  return Buffer.concat(ints);
}
