/**
 * A SCEP client in Node, doing what micromdm's scepclient does (RFC 8894 §3): a key, a self-signed
 * signer certificate, a PKCS#10 request with the challenge, wrapped in an EnvelopedData for the RA
 * and a SignedData with the SCEP attributes. Built on the project's own CMS code; used by the
 * tests, the benchmark and conformance (it makes certmonger's messages).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto';
import { decodeCertRepAttributes, encodeRequestAttributes, scepOids, type MessageType } from '../../protocols/scep/attributes.ts';
import { readTlv } from '../../src/pki/der.ts';
import type { Signer } from '../../src/ca/signer.ts';
import { SoftwareRsaDecrypter } from '../../src/ca/rsa-decrypter.ts';
import { buildTbsCertificate, randomSerial, signTbs } from '../../src/pki/certificate.ts';
import { buildSignedData, decryptEnveloped, encryptEnveloped, parseSignedData, verifySigner } from '../../src/pki/cms.ts';
import type { ContentCipher } from '../../src/pki/cms.ts';
import { buildCsr } from '../../src/pki/csr.ts';
import { subjectAltName } from '../../src/pki/extensions.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';

export type Digest = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** A requester: key pair, self-signed signer certificate and CSR (what scepclient makes first). */
export interface Requester {
  key: KeyObject;
  /** The certificate signing the pkiMessage: self-signed, or the old certificate (renewal). */
  signerCert: Buffer;
  signerKey: KeyObject;
  csr: Buffer;
  spki: Buffer;
}

export function rsaKey(bits = 2048): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
}

/** A self-signed certificate for `key` (the SCEP "signer" certificate of a first enrolment). */
export function selfSigned(key: KeyObject, dn = 'CN=SCEP SIGNER,O=scep-client'): Buffer {
  const name = encodeName(toEncodedAttributes(parseDn(dn)));
  const now = Date.now();
  const tbs = buildTbsCertificate({
    serial: randomSerial(),
    signatureAlgorithm: Buffer.from('300d06092a864886f70d01010b0500', 'hex'),
    issuer: name,
    subject: name,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
    spki: createPublicKey(key).export({ format: 'der', type: 'spki' }),
    extensions: [],
  });
  return signTbs(tbs, key);
}

export function newRequester(o: { subject: string; challenge?: string; dns?: string[]; key?: KeyObject; signer?: { cert: Buffer; key: KeyObject } }): Requester {
  const key = o.key ?? rsaKey();
  const extensions = o.dns?.length ? [subjectAltName(o.dns.map((value) => ({ type: 'dns' as const, value })))] : [];
  const csr = buildCsr({ subject: encodeName(toEncodedAttributes(parseDn(o.subject))), key, challengePassword: o.challenge, extensions });
  return {
    key,
    csr,
    spki: createPublicKey(key).export({ format: 'der', type: 'spki' }),
    signerCert: o.signer?.cert ?? selfSigned(key),
    signerKey: o.signer?.key ?? key,
  };
}

/**
 * A requester for the `device` profile: its CN (a host name) as a DNS SAN, as a profile with
 * serverAuth needs (CA/B BR lints `san.present`, `subject.cnInSans`).
 */
export function device(o: Parameters<typeof newRequester>[0]): Requester {
  const cn = /CN=([^,]+)/.exec(o.subject)?.[1];
  return newRequester({ dns: cn ? [cn] : undefined, ...o });
}

/** scepclient's transactionID: base64 of the SHA-1 of the public key (RFC 8894 §3.2.1.1 allows any). */
export function transactionIdFor(spki: Uint8Array): string {
  return createHash('sha1').update(spki).digest('base64');
}

/** A Signer over a software key, with the digest the client chooses. */
export function keySigner(key: KeyObject): Signer {
  return {
    algorithmIdentifier: Buffer.from('300d06092a864886f70d01010b0500', 'hex'),
    publicKey: createPublicKey(key),
    keyAlgorithm: 'RSA',
    sign: (data) => nodeSign('sha256', data, key),
    signWithHash: (hash, data) => nodeSign(hash, data, key),
  };
}

export interface PkiMessageOptions {
  messageType: MessageType;
  transactionID: string;
  /** The inner content: the CSR, an IssuerAndSubject or an IssuerAndSerialNumber. */
  content: Uint8Array;
  /** Whom the envelope is for (the RA certificate, or the CA without an RA). */
  recipientCert: Uint8Array;
  cipher: ContentCipher;
  digest: Digest;
  signerCert: Uint8Array;
  signerKey: KeyObject;
  senderNonce?: Buffer;
}

/** A pkiMessage: SignedData(EnvelopedData(content)) with the SCEP attributes. */
export async function pkiMessage(o: PkiMessageOptions): Promise<{ der: Buffer; senderNonce: Buffer }> {
  const senderNonce = o.senderNonce ?? randomBytes(16);
  const envelope = await encryptEnveloped(o.content, [{ certDer: o.recipientCert }], o.cipher);
  const der = await buildSignedData({
    content: envelope,
    signer: keySigner(o.signerKey),
    signerCert: o.signerCert,
    signedAttributes: encodeRequestAttributes(o.messageType, o.transactionID, senderNonce),
    digest: o.digest,
    rsaSignatureOid: 'sha-with-rsa',
  });
  return { der, senderNonce };
}

export interface CertRep {
  status: number;
  failInfo?: number;
  /** failInfoText (RFC 8894 §3.2.1.4.1), when the server sent one. */
  failInfoText?: string;
  transactionID: string;
  recipientNonce: Buffer;
  senderNonce: Buffer;
  /** The CertRep's signer certificate (checked against `raCert` when given). */
  signerCert: Buffer;
  signatureAlgorithm: string;
  digestAlgorithm: string;
  /** SUCCESS: the certificates inside the decrypted envelope. */
  certs: Buffer[];
  /** SUCCESS of a GetCRL: the CRLs inside the decrypted envelope. */
  crls: Buffer[];
  /** The cipher of the reply's envelope. */
  cipher?: ContentCipher;
}

/** Verifies and opens a CertRep for the requester (signerCert + signerKey of the request). */
export async function readCertRep(der: Uint8Array, me: { signerCert: Uint8Array; signerKey: KeyObject }, raCert?: Uint8Array): Promise<CertRep> {
  const sd = parseSignedData(der);
  const check = verifySigner(sd, 0, raCert);
  if (!check.ok || !check.certDer) throw new Error(`CertRep signature: ${check.reason}`);
  const si = sd.signers[0];
  const a = decodeCertRepAttributes(si.signedAttrs);
  let certs: Buffer[] = [];
  let crls: Buffer[] = [];
  let cipher: ContentCipher | undefined;
  if (a.status === 0) {
    if (!sd.content) throw new Error('SUCCESS without content');
    const opened = await decryptEnveloped(sd.content, new SoftwareRsaDecrypter(me.signerKey), { recipientCert: me.signerCert });
    cipher = opened.cipher;
    ({ certificates: certs, crls } = parseSignedData(opened.content));
  }
  return {
    status: a.status,
    failInfo: a.failInfo,
    failInfoText: textOf(si.signedAttrs.get(scepOids.failInfoText)?.[0]),
    transactionID: a.transactionID,
    recipientNonce: a.recipientNonce,
    senderNonce: a.senderNonce,
    signerCert: check.certDer,
    signatureAlgorithm: si.signatureAlgorithm,
    digestAlgorithm: si.digestAlgorithm,
    certs,
    crls,
    cipher,
  };
}

export function pemKey(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function keyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}

function textOf(v: Buffer | undefined): string | undefined {
  if (!v) return undefined;
  const t = readTlv(v, 0);
  return v.subarray(t.start, t.end).toString('utf8');
}
