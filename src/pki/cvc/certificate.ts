/**
 * The CV certificate (7F21 { 7F4E body, 5F37 signature }, TR-03110-3 C.1). The signature covers
 * the encoded body TLV as received, so decoding keeps its bytes.
 */
import { decodeBody, encodeBody, type CvBody } from './body.ts';
import { CvcSyntaxError } from './errors.ts';
import { cvSign, type CvSigner } from './signature.ts';
import { byTag, cvChildren, cvRaw, cvTlv, cvValue, need, readCvRoot, type CvTlv } from './tlv.ts';

export interface CvCertificate {
  body: CvBody;
  /** The 7F4E TLV as encoded: what the signature covers. */
  bodyRaw: Buffer;
  signature: Buffer;
  /** The whole 7F21 TLV. */
  der: Buffer;
}

/** Parses a CV certificate; every failure is a CvcSyntaxError (TR-03129 failure_syntax). */
export function decodeCvCertificate(der: Uint8Array): CvCertificate {
  return guard(() => fromTlv(readCvRoot(der, 0x7f21, 'CV certificate'), 1, 'certificate'));
}

/** A 7F21 element within a larger structure (requests); `kind` selects body rules. */
export function fromTlv(t: CvTlv, depth: number, kind: 'certificate' | 'request'): CvCertificate {
  const m = byTag(cvChildren(t, depth), 'CV certificate');
  if (m.size !== 2) throw new CvcSyntaxError('CV certificate: body and signature only');
  const bodyTlv = need(m, 0x7f4e, 'CV certificate');
  const body = decodeBody(bodyTlv, depth + 1, kind);
  return { body, bodyRaw: Buffer.from(cvRaw(bodyTlv)), signature: Buffer.from(cvValue(need(m, 0x5f37, 'CV certificate'))), der: Buffer.from(cvRaw(t)) };
}

/** Encodes and signs a body: the certificate (or a request's inner 7F21). */
export async function signCvBody(body: CvBody, signer: CvSigner): Promise<CvCertificate> {
  const bodyRaw = encodeBody(body);
  const signature = await cvSign(signer, bodyRaw);
  return { body, bodyRaw, signature, der: cvTlv(0x7f21, bodyRaw, cvTlv(0x5f37, signature)) };
}

/** Runs a parser and turns any stray error (OID decoding, limits) into a CvcSyntaxError. */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CvcSyntaxError) throw err;
    throw new CvcSyntaxError(err instanceof Error ? err.message : 'malformed');
  }
}
