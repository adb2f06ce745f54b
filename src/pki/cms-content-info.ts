/**
 * ContentInfo (RFC 5652 §3), the outer wrapper of every CMS message, and the CMS object
 * identifiers.
 *
 *   ContentInfo ::= SEQUENCE {
 *     contentType ContentType,
 *     content [0] EXPLICIT ANY DEFINED BY contentType }
 *
 *   ContentType ::= OBJECT IDENTIFIER
 */
import { berChildren, berOid, expectBer, readBerRoot, type Ber } from './ber.ts';
import { explicit, oid, seq } from './der.ts';

export const cmsOids = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  authEnvelopedData: '1.2.840.113549.1.9.16.1.23',
  // Attributes (RFC 5652 §11)
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
} as const;

/** Any malformed or unsupported CMS structure; the message is safe to log (no secrets). */
export class CmsError extends Error {}

export function encodeContentInfo(contentType: string, content: Uint8Array): Buffer {
  return seq(oid(contentType), explicit(0, content));
}

/**
 * Decodes a ContentInfo (BER accepted) filling all of `buf`; returns its type and the content
 * element inside [0]. Throws a plain Error; callers wrap it in their own error type.
 */
export function decodeContentInfo(buf: Uint8Array): { contentType: string; content: Ber } {
  const ci = expectBer(readBerRoot(buf, 'ContentInfo'), 0x30, 'ContentInfo');
  const [typeT, wrapped, extra] = berChildren(buf, ci);
  if (extra) throw new Error('unexpected element in ContentInfo');
  const contentType = berOid(buf, typeT, 'ContentInfo contentType');
  const inner = berChildren(buf, expectBer(wrapped, 0xa0, '[0] content'));
  if (inner.length !== 1) throw new Error('ContentInfo [0] must hold one element');
  return { contentType, content: inner[0] };
}
