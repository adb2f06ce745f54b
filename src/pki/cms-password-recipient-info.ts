/**
 * PasswordRecipientInfo (RFC 5652 §6.2.4, RFC 3211): the content-encryption key wrapped under a
 * key derived from a password. Key derivation PBKDF2 (RFC 8018) with HMAC-SHA-256; key wrap
 * id-alg-PWRI-KEK (RFC 3211 §2.3) over AES-256-CBC, the wrap OpenSSL (`cms -pwri_password`,
 * and `openssl cmp` for centrally generated keys) reads.
 *
 *   PasswordRecipientInfo ::= SEQUENCE {           -- RecipientInfo pwri [3] IMPLICIT
 *     version CMSVersion,   -- always set to 0
 *     keyDerivationAlgorithm [0] KeyDerivationAlgorithmIdentifier OPTIONAL,
 *     keyEncryptionAlgorithm KeyEncryptionAlgorithmIdentifier,
 *     encryptedKey EncryptedKey }
 *   PBKDF2-params ::= SEQUENCE {
 *     salt OCTET STRING, iterationCount INTEGER, keyLength INTEGER OPTIONAL,
 *     prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
 *   id-alg-PWRI-KEK parameters: the AlgorithmIdentifier of the block cipher (here AES-256-CBC + IV)
 *
 * RFC 3211 §2.3.1 wrap: LEN ‖ check (the first three key octets inverted) ‖ key ‖ random padding
 * to a whole number of blocks, at least two; encrypted in CBC mode twice, the second pass
 * chained on from the last block of the first.
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { berChildren, berOid, berSmallInt, expectBer, octetString, type Ber } from './ber.ts';
import { implicitConstructed, integer, octetString as derOctetString, oid, seq } from './der.ts';

export const pwriOids = {
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA1: '1.2.840.113549.2.7',
  hmacWithSHA256: '1.2.840.113549.2.9',
  hmacWithSHA384: '1.2.840.113549.2.10',
  hmacWithSHA512: '1.2.840.113549.2.11',
  pwriKek: '1.2.840.113549.1.9.16.3.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;

const prfHash: Record<string, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = {
  [pwriOids.hmacWithSHA1]: 'sha1',
  [pwriOids.hmacWithSHA256]: 'sha256',
  [pwriOids.hmacWithSHA384]: 'sha384',
  [pwriOids.hmacWithSHA512]: 'sha512',
};

export interface PasswordRecipientInfo {
  salt: Buffer;
  iterationCount: number;
  prf: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  /** The IV of the AES-256-CBC wrap. */
  iv: Buffer;
  encryptedKey: Buffer;
}

const BLOCK = 16;

function cbc(key: Buffer, iv: Buffer, data: Buffer, decrypt: boolean): Buffer {
  const c = decrypt ? createDecipheriv('aes-256-cbc', key, iv) : createCipheriv('aes-256-cbc', key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

function wrap(kek: Buffer, iv: Buffer, cek: Uint8Array): Buffer {
  if (cek.length > 255) throw new Error('PWRI: key too long');
  const body = Buffer.concat([Buffer.from([cek.length, ~cek[0] & 0xff, ~cek[1] & 0xff, ~cek[2] & 0xff]), cek]);
  const total = Math.max(2 * BLOCK, Math.ceil(body.length / BLOCK) * BLOCK);
  const padded = Buffer.concat([body, randomBytes(total - body.length)]);
  const first = cbc(kek, iv, padded, false);
  return cbc(kek, first.subarray(-BLOCK), first, false);
}

/** RFC 3211 §2.3.2: undoes both passes; throws on a wrong password (the check octets). */
function unwrap(kek: Buffer, iv: Buffer, wrapped: Buffer): Buffer {
  if (wrapped.length < 2 * BLOCK || wrapped.length % BLOCK) throw new Error('PWRI: bad wrapped key length');
  const n = wrapped.length;
  // The second pass's IV is the first pass's last block: recover it from the last two blocks.
  const lastFirst = cbc(kek, wrapped.subarray(n - 2 * BLOCK, n - BLOCK), wrapped.subarray(n - BLOCK), true);
  const first = cbc(kek, lastFirst, wrapped, true);
  const padded = cbc(kek, iv, first, true);
  const len = padded[0];
  if (len < 3 || 4 + len > padded.length) throw new Error('PWRI: bad key length');
  const key = padded.subarray(4, 4 + len);
  if ((padded[1] ^ key[0]) !== 0xff || (padded[2] ^ key[1]) !== 0xff || (padded[3] ^ key[2]) !== 0xff) throw new Error('PWRI: wrong password');
  return Buffer.from(key);
}

function deriveKek(password: Uint8Array, p: { salt: Buffer; iterationCount: number; prf: PasswordRecipientInfo['prf'] }): Buffer {
  return pbkdf2Sync(password, p.salt, p.iterationCount, 32, p.prf);
}

/** Wraps `cek` under `password` and encodes `[3] pwri`. */
export function encodePasswordRecipientInfo(password: Uint8Array, cek: Uint8Array, iterationCount = 10_000): Buffer {
  const salt = randomBytes(16);
  const iv = randomBytes(BLOCK);
  const kek = deriveKek(password, { salt, iterationCount, prf: 'sha256' });
  const encryptedKey = wrap(kek, iv, cek);
  kek.fill(0);
  const pbkdf2Params = seq(derOctetString(salt), integer(iterationCount), integer(32), seq(oid(pwriOids.hmacWithSHA256)));
  // keyDerivationAlgorithm [0] IMPLICIT AlgorithmIdentifier.
  const kdf = implicitConstructed(0, oid(pwriOids.pbkdf2), pbkdf2Params);
  const kea = seq(oid(pwriOids.pwriKek), seq(oid(pwriOids.aes256Cbc), derOctetString(iv)));
  return implicitConstructed(3, integer(0), kdf, kea, derOctetString(encryptedKey));
}

export function decodePasswordRecipientInfo(buf: Uint8Array, b: Ber): PasswordRecipientInfo {
  const [vT, kdfT, keaT, ekT, extra] = berChildren(buf, expectBer(b, 0xa3, 'PasswordRecipientInfo'));
  if (extra) throw new Error('unexpected element in PasswordRecipientInfo');
  if (berSmallInt(buf, vT, 'PasswordRecipientInfo version') !== 0) throw new Error('PasswordRecipientInfo version must be 0');
  const [kdfOidT, paramsT] = berChildren(buf, expectBer(kdfT, 0xa0, 'keyDerivationAlgorithm'));
  if (berOid(buf, kdfOidT) !== pwriOids.pbkdf2) throw new Error('only PBKDF2 key derivation is supported');
  const [saltT, iterT, ...rest] = berChildren(buf, expectBer(paramsT, 0x30, 'PBKDF2-params'));
  let prf: PasswordRecipientInfo['prf'] = 'sha1';
  for (const r of rest) {
    if (r.tag !== 0x30) continue;
    const h = prfHash[berOid(buf, berChildren(buf, r)[0])];
    if (!h) throw new Error('unsupported PBKDF2 PRF');
    prf = h;
  }
  const [keaOidT, innerT] = berChildren(buf, expectBer(keaT, 0x30, 'keyEncryptionAlgorithm'));
  if (berOid(buf, keaOidT) !== pwriOids.pwriKek) throw new Error('only id-alg-PWRI-KEK key encryption is supported');
  const [cipherT, ivT] = berChildren(buf, expectBer(innerT, 0x30, 'PWRI-KEK cipher'));
  if (berOid(buf, cipherT) !== pwriOids.aes256Cbc) throw new Error('only AES-256-CBC is supported under PWRI-KEK');
  return {
    salt: octetString(buf, saltT, 'salt'),
    iterationCount: berSmallInt(buf, iterT, 'iterationCount'),
    prf,
    iv: octetString(buf, ivT, 'IV'),
    encryptedKey: octetString(buf, ekT, 'encryptedKey'),
  };
}

/** The content-encryption key, or an Error when the password is wrong. */
export function unwrapPassword(p: PasswordRecipientInfo, password: Uint8Array): Buffer {
  const kek = deriveKek(password, p);
  try {
    return unwrap(kek, p.iv, p.encryptedKey);
  } finally {
    kek.fill(0);
  }
}
