import { constants, createPublicKey, privateDecrypt, type KeyObject } from 'node:crypto';
import type { Decrypter, RsaScheme } from '../protocol-context.ts';

/**
 * TEMPORARY (deleted when the cms branch's src/ca/rsa-decrypter.ts lands): OAEP only. PKCS#1 v1.5
 * needs the constant-time unpadding with implicit rejection that file provides; until then it is
 * refused rather than implemented twice.
 */
export class SoftwareRsaDecrypter implements Decrypter {
  readonly publicKey: KeyObject;
  constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey);
  }
  async decrypt(ciphertext: Uint8Array, scheme: RsaScheme): Promise<Buffer> {
    if (scheme.kind !== 'oaep') throw new Error('RSA PKCS#1 v1.5 decryption is not available yet');
    return privateDecrypt({ key: this.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: scheme.hash }, ciphertext);
  }
}
