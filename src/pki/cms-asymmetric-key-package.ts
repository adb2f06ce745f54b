/**
 * AsymmetricKeyPackage (RFC 5958 §2): the content type that carries private keys in CMS (EST
 * server-side key generation, CMP central key generation).
 *
 *   id-ct-KP-aKeyPackage OBJECT IDENTIFIER ::= { 2 16 840 1 101 2 1 2 78 5 }
 *   AsymmetricKeyPackage ::= SEQUENCE SIZE (1..MAX) OF OneAsymmetricKey
 *   OneAsymmetricKey ::= SEQUENCE {        -- PKCS#8 PrivateKeyInfo is its version-1 form
 *     version Version, privateKeyAlgorithm …, privateKey OCTET STRING,
 *     attributes [0] Attributes OPTIONAL, …, [[2: publicKey [1] PublicKey OPTIONAL ]], … }
 */
import { childList, readTlv, seq, tlvBytes, Tag } from './der.ts';

export const AKEY_PACKAGE = '2.16.840.1.101.2.1.2.78.5';

/** Keys are PKCS#8 / OneAsymmetricKey DER, as node:crypto exports them. */
export function encodeAsymmetricKeyPackage(keys: Uint8Array[]): Buffer {
  if (keys.length === 0) throw new Error('AsymmetricKeyPackage: no key');
  return seq(...keys);
}

export function decodeAsymmetricKeyPackage(der: Uint8Array): Buffer[] {
  const t = readTlv(der, 0);
  if (t.tag !== Tag.SEQUENCE || t.end !== der.length) throw new Error('AsymmetricKeyPackage: not a SEQUENCE');
  const keys = childList(der, t).map((k) => {
    if (k.tag !== Tag.SEQUENCE) throw new Error('AsymmetricKeyPackage: OneAsymmetricKey is not a SEQUENCE');
    return Buffer.from(tlvBytes(der, k));
  });
  if (keys.length === 0) throw new Error('AsymmetricKeyPackage: empty');
  return keys;
}
