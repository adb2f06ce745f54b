/**
 * PKCS#12 PFX (RFC 7292) building: one private key (PKCS#8) and its certificate chain, protected
 * by a password.
 *
 * Two encryptions:
 *  - 'aes' (default, what OpenSSL 3 writes): PBES2 (RFC 8018) with PBKDF2-HMAC-SHA256 and
 *    AES-256-CBC for the shrouded key bag and for the certificate safe; HMAC-SHA256 MAC;
 *  - 'legacy' (old Windows / Java clients): PBES2 with PBKDF2-HMAC-SHA1 and DES-EDE3-CBC; HMAC-SHA1 MAC.
 *
 * The structure is encoded with the DER encoder; node:crypto does PBKDF2, the ciphers and random
 * bytes; the MAC key derivation (RFC 7292 appendix B, which node:crypto does not offer) and HMAC
 * come from pkijs's crypto engine over WebCrypto.
 */
import { createCipheriv, pbkdf2Sync, randomBytes, webcrypto } from 'node:crypto';
import * as pkijs from 'pkijs';
import { explicit, implicitPrimitive, integer, nullValue, octetString, oid, seq, set, tlv } from './der.ts';

export type Pkcs12Encryption = 'aes' | 'legacy';

export interface Pkcs12Input {
  /** PKCS#8 PrivateKeyInfo DER. */
  privateKey: Uint8Array;
  /** End-entity certificate DER. */
  certificate: Uint8Array;
  /** Issuer certificates, nearest first. */
  chain?: Uint8Array[];
  password: string;
  friendlyName?: string;
  encryption?: Pkcs12Encryption;
  /** PBKDF2 and MAC iterations (default 2048, OpenSSL's default). */
  iterations?: number;
}

const O = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA1: '1.2.840.113549.2.7',
  hmacWithSHA256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  desEde3Cbc: '1.2.840.113549.3.7',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

interface Scheme {
  prf: string;
  prfHash: 'sha1' | 'sha256';
  cipherOid: string;
  cipher: 'aes-256-cbc' | 'des-ede3-cbc';
  keyLength: number;
  ivLength: number;
  macOid: string;
  macHash: 'SHA-1' | 'SHA-256';
}

const schemes: Record<Pkcs12Encryption, Scheme> = {
  aes: { prf: O.hmacWithSHA256, prfHash: 'sha256', cipherOid: O.aes256Cbc, cipher: 'aes-256-cbc', keyLength: 32, ivLength: 16, macOid: O.sha256, macHash: 'SHA-256' },
  legacy: { prf: O.hmacWithSHA1, prfHash: 'sha1', cipherOid: O.desEde3Cbc, cipher: 'des-ede3-cbc', keyLength: 24, ivLength: 8, macOid: O.sha1, macHash: 'SHA-1' },
};

/** PBES2 encryption: returns the AlgorithmIdentifier DER and the ciphertext. */
function pbes2Encrypt(s: Scheme, password: string, iterations: number, plaintext: Uint8Array): { algId: Buffer; ciphertext: Buffer } {
  const salt = randomBytes(16);
  const iv = randomBytes(s.ivLength);
  // PBES2 takes the password as its UTF-8 octets (RFC 8018; what OpenSSL does for PBES2 in PKCS#12).
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, s.keyLength, s.prfHash);
  const c = createCipheriv(s.cipher, key, iv);
  const ciphertext = Buffer.concat([c.update(plaintext), c.final()]);
  const kdfParams = seq(octetString(salt), integer(iterations), seq(oid(s.prf), nullValue()));
  const algId = seq(oid(O.pbes2), seq(seq(oid(O.pbkdf2), kdfParams), seq(oid(s.cipherOid), octetString(iv))));
  return { algId, ciphertext };
}

function bmpString(s: string): Buffer {
  const b = Buffer.alloc(s.length * 2);
  for (let i = 0; i < s.length; i++) b.writeUInt16BE(s.charCodeAt(i), i * 2);
  return tlv(0x1e, b);
}

function bagAttributes(localKeyId: Buffer, friendlyName?: string): Buffer {
  const attrs = [seq(oid(O.localKeyId), set(octetString(localKeyId)))];
  if (friendlyName) attrs.push(seq(oid(O.friendlyName), set(bmpString(friendlyName))));
  return set(...attrs);
}

const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as pkijs.CryptoEngineParameters['crypto'] });

/** Builds a password-protected PFX (DER). */
export async function buildPkcs12(input: Pkcs12Input): Promise<Buffer> {
  const s = schemes[input.encryption ?? 'aes'];
  const iterations = input.iterations ?? 2048;
  const localKeyId = randomBytes(20);

  // Key safe: one pkcs8ShroudedKeyBag in plain `data` (the bag is itself encrypted).
  const enc = pbes2Encrypt(s, input.password, iterations, input.privateKey);
  const encryptedPrivateKeyInfo = seq(enc.algId, octetString(enc.ciphertext));
  const keyBag = seq(oid(O.pkcs8ShroudedKeyBag), explicit(0, encryptedPrivateKeyInfo), bagAttributes(localKeyId, input.friendlyName));
  const keySafe = seq(keyBag);

  // Certificate safe: certBags (leaf with the localKeyId, then the chain) in `encryptedData`.
  const certBags = [input.certificate, ...(input.chain ?? [])].map((der, i) =>
    seq(
      oid(O.certBag),
      explicit(0, seq(oid(O.x509Certificate), explicit(0, octetString(der)))),
      ...(i === 0 ? [bagAttributes(localKeyId, input.friendlyName)] : []),
    ),
  );
  const certSafe = seq(...certBags);
  const certEnc = pbes2Encrypt(s, input.password, iterations, certSafe);
  const encryptedData = seq(integer(0), seq(oid(O.data), certEnc.algId, implicitPrimitive(0, certEnc.ciphertext)));

  const authSafe = seq(
    seq(oid(O.encryptedData), explicit(0, encryptedData)),
    seq(oid(O.data), explicit(0, octetString(keySafe))),
  );

  const macSalt = randomBytes(s.macHash === 'SHA-256' ? 32 : 20);
  const mac = await engine.stampDataWithPassword({
    password: new TextEncoder().encode(input.password).buffer as ArrayBuffer,
    hashAlgorithm: s.macHash,
    salt: macSalt.buffer.slice(macSalt.byteOffset, macSalt.byteOffset + macSalt.byteLength) as ArrayBuffer,
    iterationCount: iterations,
    contentToStamp: authSafe.buffer.slice(authSafe.byteOffset, authSafe.byteOffset + authSafe.byteLength) as ArrayBuffer,
  });
  const macData = seq(seq(seq(oid(s.macOid), nullValue()), octetString(Buffer.from(mac))), octetString(macSalt), integer(iterations));

  return seq(integer(3), seq(oid(O.data), explicit(0, octetString(authSafe))), macData);
}
