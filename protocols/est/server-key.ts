/**
 * The private key part of a /serverkeygen answer (RFC 7030 §4.4.2):
 *  - by default `application/pkcs8`, the PKCS#8 key, protected by TLS only;
 *  - when the CSR carries AsymmetricDecryptKeyIdentifier (id-aa-asymmDecryptKeyID, RFC 7030
 *    §4.4.1.2) naming the key of the TLS client certificate: `application/pkcs7-mime;
 *    smime-type=server-generated-key`, SignedData (signed by the issuing CA) over EnvelopedData
 *    (RSA key transport, AES-256-CBC) over an AsymmetricKeyPackage (RFC 5958) holding the key.
 *    Only RSA client keys can be recipients (key transport); others are refused with 400.
 *  - DecryptKeyIdentifier (a symmetric key shared beforehand) is not supported: refused with 400.
 */
import { berBytes } from '../../src/pki/ber.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { decodeContentInfo } from '../../src/pki/cms-content-info.ts';
import { encryptEnveloped } from '../../src/pki/cms-enveloped-data.ts';
import { buildSignedData, cmsOids } from '../../src/pki/cms-signed-data.ts';
import { csrRequestAttributes } from '../../src/pki/csr-request-attributes.ts';
import { Tag, readTlv, seq } from '../../src/pki/der.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import type { ClientCertificate } from './auth.ts';
import { EstError } from './errors.ts';
import { labelIssuer } from './issuer.ts';
import type { Label } from './labels.ts';
import { mediaType } from './wire.ts';

export const keyIdOids = {
  decryptKeyIdentifier: '1.2.840.113549.1.9.16.2.37',
  asymmDecryptKeyIdentifier: '1.2.840.113549.1.9.16.2.54',
  /** id-ct-KP-aKeyPackage (RFC 5958): AsymmetricKeyPackage ::= SEQUENCE OF OneAsymmetricKey. */
  aKeyPackage: '2.16.840.1.101.2.1.2.78.5',
} as const;

/** What the CSR asks for: the plain key, or the key encrypted to a key identified by SKI. */
export function keyProtection(csrDer: Uint8Array): { kind: 'plain' } | { kind: 'asymmetric'; keyId: Buffer } {
  let attrs: ReturnType<typeof csrRequestAttributes>;
  try {
    attrs = csrRequestAttributes(csrDer);
  } catch (e) {
    throw new EstError(400, `malformed CSR attributes: ${(e as Error).message}`);
  }
  if (attrs.some((a) => a.type === keyIdOids.decryptKeyIdentifier)) throw new EstError(400, 'DecryptKeyIdentifier (a pre-shared symmetric key) is not supported; use AsymmetricDecryptKeyIdentifier');
  const asym = attrs.find((a) => a.type === keyIdOids.asymmDecryptKeyIdentifier);
  if (!asym) return { kind: 'plain' };
  const v = asym.values[0];
  const t = v ? readTlv(v, 0) : undefined;
  if (!t || t.tag !== Tag.OCTET_STRING) throw new EstError(400, 'AsymmetricDecryptKeyIdentifier is not an OCTET STRING');
  return { kind: 'asymmetric', keyId: Buffer.from(v.subarray(t.start, t.end)) };
}

/**
 * The certificate the key is encrypted to, checked before anything is issued: undefined for a
 * plain answer, else the TLS client certificate the identifier names (RSA).
 */
export function recipientFor(protection: ReturnType<typeof keyProtection>, clientCert: ClientCertificate | undefined): Buffer | undefined {
  if (protection.kind === 'plain') return undefined;
  const recipient = clientCert && parseCertificate(clientCert.der);
  if (!clientCert || !recipient?.ski || !recipient.ski.equals(protection.keyId)) {
    throw new EstError(400, 'AsymmetricDecryptKeyIdentifier must name the key of the TLS client certificate (its subjectKeyIdentifier)');
  }
  if (clientCert.x509.publicKey.asymmetricKeyType !== 'rsa') {
    throw new EstError(400, 'the key can be encrypted only to an RSA client certificate (key transport)');
  }
  return clientCert.der;
}

export async function keyPart(ctx: ProtocolContext, label: Label, recipient: Buffer | undefined, pkcs8: Uint8Array): Promise<{ contentType: string; der: Uint8Array }> {
  if (!recipient) return { contentType: mediaType.pkcs8, der: pkcs8 };
  const envelope = encryptEnveloped(seq(pkcs8), [{ certDer: recipient }], 'aes-256-cbc', { contentType: keyIdOids.aKeyPackage });
  const ci = decodeContentInfo(envelope);
  const issuer = await labelIssuer(ctx, label);
  const key = await ctx.keys.forIssuer(issuer.id);
  const signed = await buildSignedData({ content: berBytes(envelope, ci.content), contentType: cmsOids.envelopedData, signer: key.signer, signerCert: issuer.certDer });
  return { contentType: mediaType.serverKey, der: signed };
}
