/**
 * CV certificate requests (TR-03110-3 C.2): the inner request (7F21 { 7F4E body, 5F37 signature
 * by the requested key }), optionally wrapped in authentication (67 { 7F21, 42 outer CAR, 5F37
 * signature by the requester's current key over the 7F21 and 42 TLVs }). Initial requests come
 * bare; renewals carry the outer signature.
 */
import { CvcSyntaxError } from './errors.ts';
import { fromTlv, guard, signCvBody, type CvCertificate } from './certificate.ts';
import type { CvBody } from './body.ts';
import { decodeReference, encodeReference } from './reference.ts';
import { cvSign, type CvSigner } from './signature.ts';
import { byTag, cvChildren, cvRaw, cvTlv, cvValue, need, readCvTlv } from './tlv.ts';

export interface CvRequest {
  inner: CvCertificate;
  outer?: {
    car: string;
    signature: Buffer;
    /** The bytes the outer signature covers: the 7F21 and 42 TLVs as encoded. */
    signed: Buffer;
  };
  der: Buffer;
}

export function decodeCvRequest(der: Uint8Array): CvRequest {
  return guard(() => {
    const root = readCvTlv(der, 0);
    if (root.end !== der.length) throw new CvcSyntaxError('request: trailing bytes');
    if (root.tag === 0x7f21) return { inner: fromTlv(root, 1, 'request'), der: Buffer.from(der) };
    if (root.tag !== 0x67) throw new CvcSyntaxError('request: 7F21 or 67 expected');
    const items = cvChildren(root, 1);
    const m = byTag(items, 'authentication');
    if (items.length !== 3 || items[0].tag !== 0x7f21 || items[1].tag !== 0x42 || items[2].tag !== 0x5f37) throw new CvcSyntaxError('authentication: 7F21, 42, 5F37 in that order');
    const carTlv = need(m, 0x42, 'authentication');
    const signed = Buffer.concat([cvRaw(items[0]), cvRaw(carTlv)]);
    return {
      inner: fromTlv(items[0], 2, 'request'),
      outer: { car: decodeReference(cvValue(carTlv), 'outer CAR'), signature: Buffer.from(cvValue(items[2])), signed },
      der: Buffer.from(der),
    };
  });
}

/** Builds a request: inner signature by `keySigner` (the new key), outer by `outerSigner` when given. */
export async function buildCvRequest(body: CvBody, keySigner: CvSigner, outer?: { car: string; signer: CvSigner }): Promise<CvRequest> {
  const inner = await signCvBody(body, keySigner);
  if (!outer) return { inner, der: inner.der };
  const signed = Buffer.concat([inner.der, cvTlv(0x42, encodeReference(outer.car))]);
  const signature = await cvSign(outer.signer, signed);
  return { inner, outer: { car: outer.car, signature, signed }, der: cvTlv(0x67, signed, cvTlv(0x5f37, signature)) };
}
