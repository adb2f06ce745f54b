/**
 * importSpki: the JWK fast path must load exactly the key the DER names (every shape it takes),
 * hand anything else to OpenSSL's DER decoder, and refuse what OpenSSL refuses.
 */
import { createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { importSpki, keyInfoFromSpki } from '../../src/pki/keyinfo.ts';

const spkiOf = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });

describe('importSpki', () => {
  const cases: [string, () => { publicKey: KeyObject; privateKey: KeyObject }][] = [
    ['EC P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['EC P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })],
    ['EC P-521', () => generateKeyPairSync('ec', { namedCurve: 'P-521' })],
    ['RSA 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['RSA 3072, e = 3', () => generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 3 })],
    ['Ed25519', () => generateKeyPairSync('ed25519')],
    ['Ed448 (DER path)', () => generateKeyPairSync('ed448')],
    ['EC secp256k1 (DER path)', () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' })],
  ];
  for (const [name, make] of cases) {
    it(`loads ${name} as the same key`, () => {
      const { publicKey, privateKey } = make();
      const spki = spkiOf(publicKey);
      const loaded = importSpki(spki);
      expect(spkiOf(loaded).equals(spki)).toBe(true);
      expect(loaded.asymmetricKeyDetails).toEqual(publicKey.asymmetricKeyDetails);
      const data = Buffer.from('certgate');
      const alg = publicKey.asymmetricKeyType === 'ed25519' || publicKey.asymmetricKeyType === 'ed448' ? null : 'sha256';
      expect(verify(alg, data, loaded, sign(alg, data, privateKey))).toBe(true);
    });
  }

  it('loads a compressed EC point through the DER decoder', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x!, 'base64url');
    const y = Buffer.from(jwk.y!, 'base64url');
    const uncompressed = spkiOf(publicKey);
    // Same AlgorithmIdentifier, BIT STRING holding 02/03 || x.
    const prefix = uncompressed.subarray(0, uncompressed.length - 66);
    const body = Buffer.concat([prefix.subarray(2, prefix.length - 2), Buffer.from([0x03, 34, 0x00, 0x02 | (y[31] & 1)]), x]);
    const compressed = Buffer.concat([Buffer.from([0x30, body.length]), body]);
    // OpenSSL keeps the point's encoding; the point itself is the same.
    const loaded = importSpki(compressed);
    expect(spkiOf(loaded).equals(compressed)).toBe(true);
    expect(loaded.export({ format: 'jwk' })).toEqual(jwk);
    expect(uncompressed.length).toBe(91);
  });

  it('refuses a point that is not on the curve, and truncated DER', () => {
    const spki = Buffer.from(spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey));
    const off = Buffer.from(spki);
    off[off.length - 1] ^= 0x01;
    expect(() => importSpki(off)).toThrow();
    expect(() => importSpki(spki.subarray(0, spki.length - 5))).toThrow();
    expect(keyInfoFromSpki(off)).toEqual({ type: 'unknown', oid: '1.2.840.10045.2.1' });
  });

  it('gives the key details OpenSSL gives from DER', () => {
    const rsa = spkiOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
    expect(keyInfoFromSpki(rsa)).toEqual({ type: 'RSA', bits: 2048 });
    const der = createPublicKey({ key: rsa, format: 'der', type: 'spki' });
    expect(importSpki(rsa).asymmetricKeyDetails).toEqual(der.asymmetricKeyDetails);
    const ec = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey);
    expect(keyInfoFromSpki(ec)).toEqual({ type: 'EC', curve: 'P-384' });
  });
});
