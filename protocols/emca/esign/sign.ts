/**
 * The two signature forms: a CMS detached signature over a submitted document hash (CAdES-B-B
 * attributes: content type, message digest, signing time, ESS signing-certificate-v2) and a PAdES
 * B-B signed PDF (the same CMS over the PDF's /ByteRange, without signing-time: PAdES puts the
 * time in the signature dictionary's /M).
 */
import { createHash } from 'node:crypto';
import type { KeyHandle } from '../../../src/protocol-context.ts';
import { buildSignedData } from '../../../src/pki/cms-signed-data.ts';
import { encodeSigningCertificateV2, signingCertificateV2Oid } from '../../../src/pki/cms-signing-certificate-v2.ts';
import { embedSignature, preparePdf } from './pdf-signature.ts';

export type HashName = 'sha256' | 'sha384' | 'sha512';

export const hashLengths: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** `SHA-256`, `sha256`, `SHA256` → sha256 (and 384, 512); undefined for anything else. */
export function hashName(v: unknown): HashName | undefined {
  if (typeof v !== 'string') return undefined;
  const n = v.trim().toLowerCase().replace(/[-_]/g, '');
  return n === 'sha256' || n === 'sha384' || n === 'sha512' ? n : undefined;
}

export interface SignerMaterial {
  key: KeyHandle;
  certDer: Uint8Array;
  chain: Uint8Array[];
}

/** CMS SignedData (DER), detached, over a document whose `hash` the application computed. */
export async function signHash(m: SignerMaterial, hash: HashName, digest: Uint8Array, at: Date): Promise<Buffer> {
  return buildSignedData({
    signer: m.key.signer,
    signerCert: m.certDer,
    certificates: m.chain,
    detached: true,
    digest: hash,
    messageDigest: digest,
    signingTime: at,
    signedAttributes: [{ oid: signingCertificateV2Oid, values: [encodeSigningCertificateV2(m.certDer)] }],
  });
}

/** The PDF with one PAdES B-B signature added as an incremental update. */
export async function signPdf(m: SignerMaterial, pdf: Uint8Array, at: Date, name: string): Promise<Buffer> {
  const prepared = preparePdf(pdf, { signingTime: at, name });
  const cms = await buildSignedData({
    signer: m.key.signer,
    signerCert: m.certDer,
    certificates: m.chain,
    detached: true,
    digest: 'sha256',
    messageDigest: createHash('sha256').update(prepared.signedBytes).digest(),
    signingTime: false,
    signedAttributes: [{ oid: signingCertificateV2Oid, values: [encodeSigningCertificateV2(m.certDer)] }],
  });
  return embedSignature(prepared, cms);
}
