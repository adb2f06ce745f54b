/**
 * PKCS#12 PFX (RFC 7292) reading: the decode side of pkcs12.ts, for key recovery (a kept PFX
 * re-issued under a new password). Reads what pkcs12.ts and OpenSSL 3 write: password integrity
 * (HMAC-SHA1/SHA-256 MAC, RFC 7292 appendix B key), safes in `data` or password-`encryptedData`,
 * PBES2 (PBKDF2-HMAC-SHA1/SHA-256 with AES-128/192/256-CBC or DES-EDE3-CBC), pkcs8ShroudedKeyBag,
 * keyBag and x509 certBags. The legacy PKCS#12 PBE schemes (RC2, pbeWithSHAAnd3-KeyTripleDES) are
 * refused: nothing here ever wrote them.
 *
 *   PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }
 *   MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
 *   AuthenticatedSafe ::= SEQUENCE OF ContentInfo      -- data or encryptedData
 *   SafeContents ::= SEQUENCE OF SafeBag
 *   SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OF PKCS12Attribute OPTIONAL }
 */
import { createDecipheriv, pbkdf2Sync, timingSafeEqual, webcrypto } from 'node:crypto';
import * as pkijs from 'pkijs';
import { berBytes, berChildren, berOctets, berOid, berSmallInt, expectBer, octetString, readBerRoot, type Ber } from './ber.ts';

const O = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

const prfs: Record<string, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const ciphers: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24 },
};

/** A wrong password or a PFX this reader does not handle (the message never holds the password). */
export class Pkcs12ReadError extends Error {}

export interface Pkcs12Contents {
  /** PKCS#8 PrivateKeyInfo DER. */
  privateKey: Buffer;
  /** Every certificate, in bag order (the leaf first in what pkcs12.ts writes). */
  certificates: Buffer[];
  /** 'aes' or 'legacy' (DES-EDE3), as pkcs12.ts names its two encryptions. */
  encryption: 'aes' | 'legacy';
}

const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as pkijs.CryptoEngineParameters['crypto'] });

/** Reads a PFX protected by `password`: checks the MAC, then decrypts the key and certificates. */
export async function readPkcs12(der: Uint8Array, password: string): Promise<Pkcs12Contents> {
  let parts: Ber[];
  let authSafe: Buffer;
  try {
    parts = berChildren(der, expectBer(readBerRoot(der, 'PFX'), 0x30, 'PFX'));
    if (berSmallInt(der, parts[0], 'PFX version') !== 3) throw new Error('PFX version is not 3');
    const ci = berChildren(der, expectBer(parts[1], 0x30, 'authSafe'));
    if (berOid(der, ci[0]) !== O.data) throw new Error('authSafe is not data (public-key integrity is not supported)');
    authSafe = octetString(der, berChildren(der, expectBer(ci[1], 0xa0, 'authSafe content'))[0], 'authSafe');
  } catch (e) {
    throw new Pkcs12ReadError(`not a PKCS#12 file: ${(e as Error).message}`);
  }
  if (!parts[2]) throw new Pkcs12ReadError('the PFX has no MAC');
  await checkMac(der, parts[2], authSafe, password);
  return readAuthSafe(authSafe, password);
}

async function checkMac(der: Uint8Array, macT: Ber, authSafe: Buffer, password: string): Promise<void> {
  const m = berChildren(der, expectBer(macT, 0x30, 'MacData'));
  const digestInfo = berChildren(der, expectBer(m[0], 0x30, 'DigestInfo'));
  const hashOid = berOid(der, berChildren(der, digestInfo[0])[0], 'MAC digest algorithm');
  const expected = octetString(der, digestInfo[1], 'MAC');
  const salt = octetString(der, m[1], 'macSalt');
  const iterations = m[2] ? berSmallInt(der, m[2], 'MAC iterations') : 1;
  const hashAlgorithm = hashOid === O.sha256 ? 'SHA-256' : hashOid === O.sha1 ? 'SHA-1' : undefined;
  if (!hashAlgorithm) throw new Pkcs12ReadError(`MAC digest ${hashOid} is not supported`);
  const mac = Buffer.from(
    await engine.stampDataWithPassword({
      password: new TextEncoder().encode(password).buffer as ArrayBuffer,
      hashAlgorithm,
      salt: salt.buffer.slice(salt.byteOffset, salt.byteOffset + salt.byteLength) as ArrayBuffer,
      iterationCount: iterations,
      contentToStamp: authSafe.buffer.slice(authSafe.byteOffset, authSafe.byteOffset + authSafe.byteLength) as ArrayBuffer,
    }),
  );
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw new Pkcs12ReadError('wrong password or damaged PFX (MAC mismatch)');
}

function readAuthSafe(authSafe: Buffer, password: string): Pkcs12Contents {
  const out: { key?: Buffer; certs: Buffer[]; legacy: boolean } = { certs: [], legacy: false };
  for (const ci of berChildren(authSafe, expectBer(readBerRoot(authSafe, 'AuthenticatedSafe'), 0x30, 'AuthenticatedSafe'))) {
    const [typeT, contentT] = berChildren(authSafe, ci);
    const type = berOid(authSafe, typeT);
    const inner = berChildren(authSafe, expectBer(contentT, 0xa0, 'ContentInfo content'))[0];
    let safe: Buffer;
    if (type === O.data) safe = octetString(authSafe, inner, 'SafeContents');
    else if (type === O.encryptedData) {
      const [, eci] = berChildren(authSafe, expectBer(inner, 0x30, 'EncryptedData'));
      const [, algT, dataT] = berChildren(authSafe, expectBer(eci, 0x30, 'EncryptedContentInfo'));
      const r = pbes2Decrypt(authSafe, algT, berOctets(authSafe, dataT), password);
      out.legacy ||= r.legacy;
      safe = r.plain;
    } else throw new Pkcs12ReadError(`safe content type ${type} is not supported`);
    readSafeContents(safe, password, out);
  }
  if (!out.key) throw new Pkcs12ReadError('the PFX holds no private key');
  return { privateKey: out.key, certificates: out.certs, encryption: out.legacy ? 'legacy' : 'aes' };
}

function readSafeContents(safe: Buffer, password: string, out: { key?: Buffer; certs: Buffer[]; legacy: boolean }): void {
  for (const bag of berChildren(safe, expectBer(readBerRoot(safe, 'SafeContents'), 0x30, 'SafeContents'))) {
    const [idT, valueT] = berChildren(safe, expectBer(bag, 0x30, 'SafeBag'));
    const id = berOid(safe, idT);
    const value = berChildren(safe, expectBer(valueT, 0xa0, 'bagValue'))[0];
    if (id === O.keyBag) out.key ??= berBytes(safe, value);
    else if (id === O.pkcs8ShroudedKeyBag) {
      const [algT, encT] = berChildren(safe, expectBer(value, 0x30, 'EncryptedPrivateKeyInfo'));
      const r = pbes2Decrypt(safe, algT, octetString(safe, encT, 'encryptedData'), password);
      out.legacy ||= r.legacy;
      out.key ??= r.plain;
    } else if (id === O.certBag) {
      const [certIdT, certValT] = berChildren(safe, expectBer(value, 0x30, 'CertBag'));
      if (berOid(safe, certIdT) !== O.x509Certificate) continue;
      out.certs.push(octetString(safe, berChildren(safe, expectBer(certValT, 0xa0, 'certValue'))[0], 'x509Certificate'));
    }
  }
}

/** PBES2 (RFC 8018 §6.2) with PBKDF2; the password as its UTF-8 octets, as pkcs12.ts and OpenSSL write it. */
function pbes2Decrypt(buf: Buffer, algT: Ber, ciphertext: Buffer, password: string): { plain: Buffer; legacy: boolean } {
  const [oidT, paramsT] = berChildren(buf, expectBer(algT, 0x30, 'encryption algorithm'));
  const scheme = berOid(buf, oidT);
  if (scheme !== O.pbes2) throw new Pkcs12ReadError(`encryption ${scheme} is not supported (PBES2 only)`);
  const [kdfT, encT] = berChildren(buf, expectBer(paramsT, 0x30, 'PBES2-params'));
  const [kdfOidT, kdfParamsT] = berChildren(buf, kdfT);
  if (berOid(buf, kdfOidT) !== O.pbkdf2) throw new Pkcs12ReadError('PBES2 key derivation is not PBKDF2');
  const kp = berChildren(buf, expectBer(kdfParamsT, 0x30, 'PBKDF2-params'));
  const salt = octetString(buf, kp[0], 'salt');
  const iterations = berSmallInt(buf, kp[1], 'iterationCount');
  if (iterations > 10_000_000) throw new Pkcs12ReadError('PBKDF2 iteration count too large');
  const prfT = kp.slice(2).find((b) => b.tag === 0x30);
  const prf = prfT ? prfs[berOid(buf, berChildren(buf, prfT)[0])] : 'sha1';
  if (!prf) throw new Pkcs12ReadError('PBKDF2 PRF is not supported');
  const [cipherOidT, ivT] = berChildren(buf, expectBer(encT, 0x30, 'encryptionScheme'));
  const cipher = ciphers[berOid(buf, cipherOidT)];
  if (!cipher) throw new Pkcs12ReadError('PBES2 cipher is not supported');
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, cipher.keyLength, prf);
  try {
    const d = createDecipheriv(cipher.name, key, octetString(buf, ivT, 'IV'));
    return { plain: Buffer.concat([d.update(ciphertext), d.final()]), legacy: cipher.name === 'des-ede3-cbc' };
  } catch {
    throw new Pkcs12ReadError('wrong password or damaged PFX (decryption failed)');
  }
}
