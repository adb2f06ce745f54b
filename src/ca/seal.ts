import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { IssuanceError } from '../issuance/errors.ts';

/**
 * Seals secrets (issuer PKCS#8 keys, stored PKCS#12 passwords, token secrets) under the
 * key-encryption key: AES-256-GCM with a per-item key from HKDF-SHA256(kek, salt, purpose).
 * The purpose string binds a sealed blob to its use, so one cannot be swapped for another.
 * Layout: 0x01 | salt(16) | iv(12) | tag(16) | ciphertext.
 */
const VERSION = 1;

export function seal(kek: Uint8Array, plaintext: Uint8Array, purpose: string): Buffer {
  const salt = randomBytes(16);
  const key = Buffer.from(hkdfSync('sha256', kek, salt, `certgate:${purpose}`, 32));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(purpose));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), salt, iv, cipher.getAuthTag(), ct]);
}

export function unseal(kek: Uint8Array, sealed: Uint8Array, purpose: string): Buffer {
  const b = Buffer.from(sealed);
  if (b.length < 1 + 16 + 12 + 16 || b[0] !== VERSION) throw new IssuanceError('internal', 'sealed data has an unknown format');
  const salt = b.subarray(1, 17);
  const iv = b.subarray(17, 29);
  const tag = b.subarray(29, 45);
  const key = Buffer.from(hkdfSync('sha256', kek, salt, `certgate:${purpose}`, 32));
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(purpose));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(b.subarray(45)), decipher.final()]);
  } catch {
    // Never say more: a wrong KEK and a tampered blob look the same.
    throw new IssuanceError('internal', `cannot unseal ${purpose}: wrong key-encryption key or tampered data`);
  }
}
