/**
 * Central key generation (RFC 9483 §4.1.6, RFC 9810 §5.2.8.3): a certTemplate with no public key,
 * or one with an algorithm and an empty BIT STRING, asks Certgate to make the key pair. The
 * pipeline generates it (a profile-allowed type: the template's algorithm, else the profile's
 * first) and certifies it; the private key comes back in CertifiedKeyPair.privateKey as
 *
 *   EnvelopedData { SignedData { AsymmetricKeyPackage { OneAsymmetricKey } } }
 *
 * signed by the CMP signer identity (id-kp-cmKGA), encrypted to whoever protected the request:
 * key transport to an RSA certificate, ECDH key agreement to an EC certificate (RFC 9483
 * §4.1.6.1/.2), a password recipient (PBKDF2) with the shared secret of a MAC (§4.1.6.3).
 */
import type { KeySpec } from '../../src/issuance/request.ts';
import { X509Certificate } from 'node:crypto';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { AKEY_PACKAGE, encodeAsymmetricKeyPackage } from '../../src/pki/cms-asymmetric-key-package.ts';
import { cmsOids, decodeContentInfo } from '../../src/pki/cms-content-info.ts';
import { encryptEnveloped, type EnvelopeRecipient } from '../../src/pki/cms-enveloped-data.ts';
import { buildSignedData } from '../../src/pki/cms-signed-data.ts';
import { berBytes } from '../../src/pki/ber.ts';
import { Tag, childList, readOid, readTlv } from '../../src/pki/der.ts';
import { CmpFailure } from './failures.ts';
import { answerSigner, type Sender } from './protection.ts';

const RSA = '1.2.840.113549.1.1.1';
const EC = '1.2.840.10045.2.1';
const ED25519 = '1.3.101.112';
const curves: Record<string, 'P-256' | 'P-384' | 'P-521'> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
};

/**
 * Whether the template asks for central key generation, and which key: undefined when it
 * carries a real public key. `template` is the SubjectPublicKeyInfo DER or undefined.
 */
export function centralKeyRequest(spki: Buffer | undefined): { algorithm?: string; curve?: string } | undefined {
  if (!spki) return {};
  const t = readTlv(spki, 0);
  const f = childList(spki, t);
  const alg = f[0];
  if (!alg || alg.tag !== Tag.SEQUENCE) throw new CmpFailure('badCertTemplate', 'the template public key is not a valid SubjectPublicKeyInfo');
  const key = f[1];
  if (key && !(key.tag === Tag.BIT_STRING && key.length <= 1)) return undefined;
  const a = childList(spki, alg);
  const algorithm = readOid(spki, a[0]);
  return { algorithm, curve: a[1]?.tag === Tag.OID ? readOid(spki, a[1]) : undefined };
}

/** The key to generate: what the template names (when the profile allows it), else the profile's first type. */
type Profile = NonNullable<Awaited<ReturnType<ProtocolContext['profiles']['get']>>>;

export function centralKeySpec(req: { algorithm?: string; curve?: string }, profile: Profile): KeySpec {
  const k = profile.keys;
  const rsa = (): KeySpec => ({ type: 'RSA', bits: Math.max(2048, k.rsa?.minBits ?? 2048) });
  if (req.algorithm === RSA) return rsa();
  if (req.algorithm === EC) {
    const curve = req.curve ? curves[req.curve] : k.ec?.curves[0];
    if (!curve) throw new CmpFailure('badAlg', 'central key generation supports the curves P-256, P-384 and P-521');
    return { type: 'EC', curve };
  }
  if (req.algorithm === ED25519) return { type: 'Ed25519' };
  if (req.algorithm) throw new CmpFailure('badAlg', `central key generation does not support the algorithm ${req.algorithm}`);
  if (k.ec?.curves.length) return { type: 'EC', curve: k.ec.curves[0] };
  if (k.rsa) return rsa();
  if (k.ed25519) return { type: 'Ed25519' };
  throw new CmpFailure('badAlg', 'the profile allows no key type');
}

/** Who can open the key envelope; refused (before anything is issued) when nobody can. */
export function keyRecipient(sender: Sender): EnvelopeRecipient {
  if (sender.kind === 'mac') return { password: sender.secret };
  const type = new X509Certificate(sender.certDer).publicKey.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ec') {
    throw new CmpFailure('notAuthorized', 'central key generation needs a MAC, an RSA or an EC certificate to encrypt the key to');
  }
  return { certDer: sender.certDer };
}

/** EnvelopedData (the SEQUENCE, not a ContentInfo) around SignedData around the key package. */
export async function privateKeyEnvelope(ctx: ProtocolContext, issuerId: string, pkcs8: Uint8Array, recipient: EnvelopeRecipient): Promise<Buffer> {
  const s = await answerSigner(ctx, issuerId);
  const signed = await buildSignedData({
    content: encodeAsymmetricKeyPackage([pkcs8]),
    contentType: AKEY_PACKAGE,
    signer: s.keySigner,
    signerCert: s.certDer,
    certificates: s.certs.slice(1),
  });
  const sd = berBytes(signed, decodeContentInfo(signed).content);
  const env = encryptEnveloped(sd, [recipient], 'aes-256-cbc', { contentType: cmsOids.signedData });
  return berBytes(env, decodeContentInfo(env).content);
}
