/**
 * EnvelopedData (RFC 5652 §6) with RSA key transport, and the two calls protocols use:
 * `encryptEnveloped` (GCM ciphers produce AuthEnvelopedData, RFC 5083) and `decryptEnveloped`
 * (either form; the content-encryption key comes from a `Decrypter` with implicit rejection).
 *
 *   EnvelopedData ::= SEQUENCE {
 *     version CMSVersion,
 *     originatorInfo [0] IMPLICIT OriginatorInfo OPTIONAL,
 *     recipientInfos RecipientInfos,               -- SET SIZE (1..MAX) OF RecipientInfo
 *     encryptedContentInfo EncryptedContentInfo,
 *     unprotectedAttrs [1] IMPLICIT UnprotectedAttributes OPTIONAL }
 *
 * No padding oracle: every failure of `decryptEnveloped` — malformed structure, no matching
 * recipient, wrong key (an RSA padding error becomes a pseudo-random key), bad content padding,
 * failed GCM tag — is the same CmsDecryptError with the same message.
 */
import { createPublicKey } from 'node:crypto';
import type { Decrypter, RsaScheme } from '../protocol-context.ts';
import { contentCiphers, type ContentCipher } from './algorithms.ts';
import { berChildren, berSmallInt, expectBer, type Ber } from './ber.ts';
import { parseCertificate } from './certificate.ts';
import { decodeAuthEnvelopedData, encodeAuthEnvelopedData } from './cms-auth-enveloped-data.ts';
import { cmsOids, decodeContentInfo, encodeContentInfo } from './cms-content-info.ts';
import { decryptContent, decodeEncryptedContentInfo, encodeEncryptedContentInfo, encryptContent, generateContentKey, type EncryptedContentInfo } from './cms-encrypted-content-info.ts';
import { identifierMatches, issuerAndSerialOf, type CmsIdentifier } from './cms-identifier.ts';
import { decodeKeyAgreeRecipientInfo, encodeKeyAgreeRecipientInfo, type KeyAgreeRecipientInfo } from './cms-key-agree-recipient-info.ts';
import { decodePasswordRecipientInfo, encodePasswordRecipientInfo, type PasswordRecipientInfo } from './cms-password-recipient-info.ts';
import { decodeRecipientInfo, encodeKeyTransRecipientInfo, type KeyTransRecipientInfo } from './cms-recipient-info.ts';
import { integer, seq, set } from './der.ts';
import { keyIdentifier } from './extensions.ts';

export type { ContentCipher } from './algorithms.ts';

/** The one error of decryptEnveloped. Its message never says what went wrong. */
export class CmsDecryptError extends Error {
  constructor() {
    super('CMS decryption failed');
    this.name = 'CmsDecryptError';
  }
}

export interface EnvelopedData {
  version: number;
  /** Key transport recipients (what decryptEnveloped uses). */
  recipients: KeyTransRecipientInfo[];
  /** Key agreement recipients (kari). */
  keyAgree: KeyAgreeRecipientInfo[];
  /** Password recipients (pwri). */
  password: PasswordRecipientInfo[];
  eci: EncryptedContentInfo;
}

export function decodeEnvelopedData(buf: Uint8Array, b: Ber): EnvelopedData {
  const f = berChildren(buf, expectBer(b, 0x30, 'EnvelopedData'));
  let k = 0;
  const version = berSmallInt(buf, f[k++], 'version');
  if (f[k]?.tag === 0xa0) k++; // originatorInfo
  const infos = berChildren(buf, expectBer(f[k++], 0x31, 'recipientInfos'));
  const recipients = infos.map((r) => decodeRecipientInfo(buf, r)).filter((r): r is KeyTransRecipientInfo => r !== undefined);
  // A kari or pwri with algorithms we do not read is skipped, as before: another recipient may be ours.
  const keyAgree = infos.filter((r) => r.tag === 0xa1).flatMap((r) => skipUnreadable(() => decodeKeyAgreeRecipientInfo(buf, r)));
  const password = infos.filter((r) => r.tag === 0xa3).flatMap((r) => skipUnreadable(() => decodePasswordRecipientInfo(buf, r)));
  const eci = decodeEncryptedContentInfo(buf, f[k++]);
  if (f[k]?.tag === 0xa1) k++; // unprotectedAttrs
  if (k !== f.length) throw new Error('unexpected element in EnvelopedData');
  return { version, recipients, keyAgree, password, eci };
}

function skipUnreadable<T>(f: () => T): T[] {
  try {
    return [f()];
  } catch {
    return [];
  }
}

/**
 * `version` per RFC 5652 §6.1 (no originatorInfo or unprotectedAttrs here): 3 with a pwri, else 0
 * when every RecipientInfo is a version-0 ktri (IssuerAndSerialNumber), else 2.
 */
export function encodeEnvelopedData(recipientInfos: Uint8Array[], eci: EncryptedContentInfo, version: 0 | 2 | 3): Buffer {
  return seq(integer(version), set(...recipientInfos), encodeEncryptedContentInfo(eci));
}

/**
 * Who can open the envelope: a certificate (RSA key: key transport; EC key: ECDH key agreement,
 * RFC 5753) or a password (pwri, RFC 3211).
 */
export type EnvelopeRecipient = CertificateRecipient | { password: Uint8Array; iterations?: number };

export interface CertificateRecipient {
  /** The recipient's certificate (DER): its RSA or EC key and IssuerAndSerialNumber. */
  certDer: Uint8Array;
  /** Key transport; default PKCS#1 v1.5 (what SCEP clients expect). */
  scheme?: RsaScheme;
  /**
   * Key transport only (an EC key always gets a kari naming it by IssuerAndSerialNumber).
   * How the RecipientInfo names the recipient: IssuerAndSerialNumber (default; SCEP) or the
   * certificate's subject key identifier (EST server-side key generation, RFC 7030 §4.4.1.2;
   * RFC 5280 method 1 of the key when the certificate has no such extension).
   */
  identifyBy?: 'issuerAndSerial' | 'subjectKeyIdentifier';
}

/**
 * Encrypts `content` to each recipient: a ContentInfo DER holding EnvelopedData (CBC ciphers) or
 * AuthEnvelopedData (GCM ciphers).
 */
export function encryptEnveloped(content: Uint8Array, recipients: EnvelopeRecipient[], cipher: ContentCipher, opts: { contentType?: string } = {}): Buffer {
  if (recipients.length === 0) throw new Error('encryptEnveloped: no recipients');
  const cek = generateContentKey(cipher);
  let version: 0 | 2 | 3 = 0;
  const infos = recipients.map((r) => {
    if ('password' in r) {
      version = 3;
      return encodePasswordRecipientInfo(r.password, cek, r.iterations);
    }
    const cert = parseCertificate(r.certDer);
    const key = createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType === 'ec') {
      if (version === 0) version = 2;
      return encodeKeyAgreeRecipientInfo(issuerAndSerialOf(r.certDer), key, cek);
    }
    const rid: CmsIdentifier = r.identifyBy === 'subjectKeyIdentifier' ? { kind: 'ski', keyId: cert.ski ?? keyIdentifier(cert.spki) } : issuerAndSerialOf(r.certDer);
    if (rid.kind === 'ski' && version === 0) version = 2;
    return encodeKeyTransRecipientInfo(rid, key, r.scheme ?? { kind: 'pkcs1-v1_5' }, cek);
  });
  const { eci, mac } = encryptContent(cipher, cek, content, opts.contentType ?? cmsOids.data);
  cek.fill(0);
  if (mac) return encodeContentInfo(cmsOids.authEnvelopedData, encodeAuthEnvelopedData(infos, eci, mac));
  return encodeContentInfo(cmsOids.envelopedData, encodeEnvelopedData(infos, eci, version));
}

export interface DecryptedEnvelope {
  content: Buffer;
  cipher: ContentCipher;
  /** The type of the decrypted content (id-data for SCEP and most uses). */
  contentType: string;
}

/**
 * Decrypts an EnvelopedData or AuthEnvelopedData ContentInfo (BER accepted) with `decrypter`.
 * The recipient is the KeyTransRecipientInfo naming `recipientCert` (IssuerAndSerialNumber or
 * subject key identifier) when given, else the one whose subject key identifier is the
 * decrypter's key's (RFC 5280 method 1), else the only one. Throws CmsDecryptError, always the
 * same, on any failure.
 */
export async function decryptEnveloped(der: Uint8Array, decrypter: Decrypter, opts: { recipientCert?: Uint8Array } = {}): Promise<DecryptedEnvelope> {
  try {
    const ci = decodeContentInfo(der);
    let env: { recipients: KeyTransRecipientInfo[]; eci: EncryptedContentInfo; mac?: Buffer; aad?: Buffer };
    if (ci.contentType === cmsOids.envelopedData) env = decodeEnvelopedData(der, ci.content);
    else if (ci.contentType === cmsOids.authEnvelopedData) {
      env = decodeAuthEnvelopedData(der, ci.content);
      if (contentCiphers[env.eci.cipher].mode !== 'gcm') throw new Error('AuthEnvelopedData needs an authenticated cipher');
    } else throw new Error('not an enveloped content type');
    if (contentCiphers[env.eci.cipher].mode === 'gcm' && !env.mac) throw new Error('GCM in EnvelopedData has no tag');
    const recipient = pickRecipient(env.recipients, decrypter, opts.recipientCert);
    const cek = await decrypter.decrypt(recipient.encryptedKey, recipient.scheme, contentCiphers[env.eci.cipher].keyLength);
    const content = decryptContent(env.eci, cek, env.mac, env.aad);
    cek.fill(0);
    return { content, cipher: env.eci.cipher, contentType: env.eci.contentType };
  } catch {
    throw new CmsDecryptError();
  }
}

function pickRecipient(list: KeyTransRecipientInfo[], decrypter: Decrypter, recipientCert?: Uint8Array): KeyTransRecipientInfo {
  // Our key's identifier (RFC 5280 method 1), computed only when a recipient is named that way.
  let ownSki: Buffer | undefined;
  const isOurSki = (r: KeyTransRecipientInfo) => {
    if (r.rid.kind !== 'ski') return false;
    ownSki ??= keyIdentifier(decrypter.publicKey.export({ format: 'der', type: 'spki' }));
    return r.rid.keyId.equals(ownSki);
  };
  if (recipientCert) {
    const c = parseCertificate(recipientCert);
    const found = list.find((r) => identifierMatches(r.rid, c) || isOurSki(r));
    if (!found) throw new Error('no recipient info for this certificate');
    return found;
  }
  const bySki = list.find(isOurSki);
  if (bySki) return bySki;
  if (list.length === 1) return list[0];
  throw new Error('cannot tell which recipient info is ours');
}
