/**
 * EncryptedContentInfo (RFC 5652 §6.1) and the content ciphers behind it: AES-CBC (RFC 3565),
 * AES-GCM (RFC 5084, inside AuthEnvelopedData), DES-EDE3-CBC and DES-CBC (RFC 3370 §5.1; single
 * DES through our own des.ts, Node's OpenSSL 3 lacking it).
 *
 *   EncryptedContentInfo ::= SEQUENCE {
 *     contentType ContentType,
 *     contentEncryptionAlgorithm ContentEncryptionAlgorithmIdentifier,
 *     encryptedContent [0] IMPLICIT EncryptedContent OPTIONAL }
 *
 *   EncryptedContent ::= OCTET STRING
 *   CBCParameter ::= IV              -- OCTET STRING (AES: 16 octets, DES and 3DES: 8)
 *   GCMParameters ::= SEQUENCE {
 *     aes-nonce        OCTET STRING, -- 12 octets recommended
 *     aes-ICVlen       AES-GCM-ICVlen DEFAULT 12 }   -- 12..16
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { contentCipherFromOid, contentCiphers, type ContentCipher } from './algorithms.ts';
import { berAlgorithm, berChildren, berOctets, berOid, berSmallInt, expectBer, octetString, readBer, type Ber } from './ber.ts';
import { desCbc } from './des.ts';
import { implicitPrimitive, integer, octetString as derOctetString, oid, seq } from './der.ts';

export interface EncryptedContentInfo {
  contentType: string;
  cipher: ContentCipher;
  /** CBC IV or GCM nonce. */
  iv: Buffer;
  /** GCM: the ICV (tag) length the parameters name. */
  icvLength?: number;
  encryptedContent: Buffer;
}

export function decodeEncryptedContentInfo(buf: Uint8Array, b: Ber): EncryptedContentInfo {
  const [typeT, algT, contentT, extra] = berChildren(buf, expectBer(b, 0x30, 'EncryptedContentInfo'));
  if (extra) throw new Error('unexpected element in EncryptedContentInfo');
  const contentType = berOid(buf, typeT, 'contentType');
  const alg = berAlgorithm(buf, algT, 'contentEncryptionAlgorithm');
  const cipher = contentCipherFromOid(alg.oid);
  if (!cipher) throw new Error(`unsupported content encryption algorithm ${alg.oid}`);
  const info = contentCiphers[cipher];
  const algChildren = berChildren(alg.der, readBer(alg.der, 0));
  const paramsT = algChildren[1];
  let iv: Buffer;
  let icvLength: number | undefined;
  if (info.mode === 'gcm') {
    const [nonceT, icvT] = berChildren(alg.der, expectBer(paramsT, 0x30, 'GCMParameters'));
    iv = octetString(alg.der, nonceT, 'aes-nonce');
    icvLength = icvT ? berSmallInt(alg.der, icvT, 'aes-ICVlen') : 12;
    if (icvLength < 12 || icvLength > 16 || iv.length === 0) throw new Error('bad GCMParameters');
  } else {
    iv = octetString(alg.der, paramsT, 'IV');
    if (iv.length !== info.ivLength) throw new Error('bad IV length');
  }
  if (!contentT || (contentT.tag !== 0x80 && contentT.tag !== 0xa0)) throw new Error('no encryptedContent');
  return { contentType, cipher, iv, icvLength, encryptedContent: berOctets(buf, contentT) };
}

export function encodeEncryptedContentInfo(e: EncryptedContentInfo): Buffer {
  const info = contentCiphers[e.cipher];
  const params = info.mode === 'gcm' ? seq(derOctetString(e.iv), integer(e.icvLength ?? 16)) : derOctetString(e.iv);
  return seq(oid(e.contentType), seq(oid(info.oid), params), implicitPrimitive(0, e.encryptedContent));
}

/** A fresh content-encryption key; DES keys get odd parity, as DES key generators set it. */
export function generateContentKey(cipher: ContentCipher): Buffer {
  const key = randomBytes(contentCiphers[cipher].keyLength);
  if (cipher === 'des-cbc' || cipher === 'des-ede3-cbc') {
    for (let i = 0; i < key.length; i++) {
      let b = key[i] & 0xfe;
      let ones = 0;
      for (let v = b; v; v >>= 1) ones += v & 1;
      if (ones % 2 === 0) b |= 1;
      key[i] = b;
    }
  }
  return key;
}

/** Encrypts `content`; returns the EncryptedContentInfo and, for GCM, the tag (AuthEnvelopedData mac). */
export function encryptContent(cipher: ContentCipher, key: Uint8Array, content: Uint8Array, contentType: string): { eci: EncryptedContentInfo; mac?: Buffer } {
  const info = contentCiphers[cipher];
  const iv = randomBytes(info.ivLength);
  if (cipher === 'des-cbc') {
    return { eci: { contentType, cipher, iv, encryptedContent: desCbc(key, iv, pkcs7Pad(content, 8), false) } };
  }
  if (info.mode === 'gcm') {
    const c = createCipheriv(cipher as 'aes-128-gcm', key, iv, { authTagLength: 16 });
    const encryptedContent = Buffer.concat([c.update(content), c.final()]);
    return { eci: { contentType, cipher, iv, icvLength: 16, encryptedContent }, mac: c.getAuthTag() };
  }
  const c = createCipheriv(cipher, key, iv);
  return { eci: { contentType, cipher, iv, encryptedContent: Buffer.concat([c.update(content), c.final()]) } };
}

/**
 * Decrypts; throws (any Error) on a wrong key, bad padding or a failed GCM tag. `aad` is the DER
 * of AuthEnvelopedData's authAttrs when present.
 */
export function decryptContent(e: EncryptedContentInfo, key: Uint8Array, mac?: Uint8Array, aad?: Uint8Array): Buffer {
  const info = contentCiphers[e.cipher];
  if (key.length !== info.keyLength) throw new Error('wrong key length');
  if (e.cipher === 'des-cbc') {
    if (e.encryptedContent.length === 0 || e.encryptedContent.length % 8) throw new Error('bad DES-CBC length');
    return pkcs7Unpad(desCbc(key, e.iv, e.encryptedContent, true), 8);
  }
  if (info.mode === 'gcm') {
    if (!mac || mac.length !== e.icvLength) throw new Error('bad GCM tag length');
    const d = createDecipheriv(e.cipher as 'aes-128-gcm', key, e.iv, { authTagLength: mac.length });
    d.setAuthTag(mac);
    if (aad) d.setAAD(aad);
    return Buffer.concat([d.update(e.encryptedContent), d.final()]);
  }
  const d = createDecipheriv(e.cipher, key, e.iv);
  return Buffer.concat([d.update(e.encryptedContent), d.final()]);
}

function pkcs7Pad(data: Uint8Array, block: number): Buffer {
  const n = block - (data.length % block);
  return Buffer.concat([data, Buffer.alloc(n, n)]);
}

function pkcs7Unpad(data: Buffer, block: number): Buffer {
  const n = data[data.length - 1];
  let bad = n === 0 || n > block ? 1 : 0;
  for (let i = 0; i < block; i++) bad |= (i < n ? 1 : 0) & (data[data.length - 1 - i] !== n ? 1 : 0);
  if (bad) throw new Error('bad padding');
  return data.subarray(0, data.length - n);
}
