/**
 * ISO/IEC 7816-4 BER-TLV as card-verifiable certificates use it (BSI TR-03110-3 appendix D.2):
 * tags of one or two bytes (0x42, 0x7F21, 0x5F37), definite lengths of at most three length
 * bytes. Everything a peer sends is bounded here — tag size, length size, nesting depth and total
 * size — so a hostile request fails as a CvcSyntaxError before any structure code runs.
 */
import { CvcSyntaxError } from './errors.ts';

export interface CvTlv {
  tag: number;
  /** Offset of the first content byte and of the byte after it, in `buf`. */
  start: number;
  end: number;
  /** Offset of the tag byte. */
  offset: number;
  constructed: boolean;
  buf: Uint8Array;
}

/** The largest message a CVC parser accepts (a request with an RSA-4096 key is well under 2 KiB). */
export const CVC_MAX_BYTES = 16 * 1024;
/** Certificates nest four deep (7F21 › 7F4E › 7F49 › 86); requests, extensions one or two more. */
export const CVC_MAX_DEPTH = 6;

/** Reads one TLV at `offset` within `limit`. */
export function readCvTlv(buf: Uint8Array, offset = 0, limit = buf.length): CvTlv {
  if (buf.length > CVC_MAX_BYTES) throw new CvcSyntaxError(`message longer than ${CVC_MAX_BYTES} bytes`);
  let p = offset;
  if (p >= limit) throw new CvcSyntaxError('truncated: tag expected');
  const first = buf[p++];
  let tag = first;
  if ((first & 0x1f) === 0x1f) {
    if (p >= limit) throw new CvcSyntaxError('truncated tag');
    const second = buf[p++];
    // Two tag bytes at most: the second must not announce a third (TR-03110-3 D.2.1).
    if (second & 0x80) throw new CvcSyntaxError('tags longer than two bytes are not allowed');
    tag = (first << 8) | second;
  }
  if (p >= limit) throw new CvcSyntaxError('truncated: length expected');
  let len = buf[p++];
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new CvcSyntaxError('indefinite length is not allowed');
    if (n > 3) throw new CvcSyntaxError('length field too long');
    if (p + n > limit) throw new CvcSyntaxError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
  }
  if (p + len > limit) throw new CvcSyntaxError(`truncated: tag ${hexTag(tag)} announces ${len} bytes`);
  return { tag, start: p, end: p + len, offset, constructed: (first & 0x20) !== 0, buf };
}

/** Reads the only TLV of `buf`; trailing bytes are an error. */
export function readCvRoot(buf: Uint8Array, tag: number, what: string): CvTlv {
  const t = readCvTlv(buf, 0);
  if (t.tag !== tag) throw new CvcSyntaxError(`${what}: tag ${hexTag(tag)} expected, found ${hexTag(t.tag)}`);
  if (t.end !== buf.length) throw new CvcSyntaxError(`${what}: trailing bytes`);
  return t;
}

/** The children of a constructed TLV, each checked to lie within it; depth-limited. */
export function cvChildren(parent: CvTlv, depth: number): CvTlv[] {
  if (depth > CVC_MAX_DEPTH) throw new CvcSyntaxError('nesting too deep');
  if (!parent.constructed) throw new CvcSyntaxError(`tag ${hexTag(parent.tag)} is not constructed`);
  const out: CvTlv[] = [];
  for (let p = parent.start; p < parent.end; ) {
    const t = readCvTlv(parent.buf, p, parent.end);
    out.push(t);
    p = t.end;
    if (out.length > 64) throw new CvcSyntaxError('too many elements');
  }
  return out;
}

/** Content bytes of a TLV (a copy-free view). */
export const cvValue = (t: CvTlv): Buffer => Buffer.from(t.buf.buffer, t.buf.byteOffset + t.start, t.end - t.start);
/** The whole TLV, tag and length included (a copy-free view). */
export const cvRaw = (t: CvTlv): Buffer => Buffer.from(t.buf.buffer, t.buf.byteOffset + t.offset, t.end - t.offset);

/** Encodes a TLV with a one- or two-byte tag. */
export function cvTlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  const tagBytes = tag > 0xff ? Buffer.from([tag >> 8, tag & 0xff]) : Buffer.from([tag]);
  return Buffer.concat([tagBytes, cvLength(body.length), body]);
}

function cvLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
}

/** Picks the children by tag; a duplicate of a tag is an error (each appears at most once in a CVC). */
export function byTag(items: CvTlv[], what: string): Map<number, CvTlv> {
  const m = new Map<number, CvTlv>();
  for (const t of items) {
    if (m.has(t.tag)) throw new CvcSyntaxError(`${what}: tag ${hexTag(t.tag)} twice`);
    m.set(t.tag, t);
  }
  return m;
}

export function need(m: Map<number, CvTlv>, tag: number, what: string): CvTlv {
  const t = m.get(tag);
  if (!t) throw new CvcSyntaxError(`${what}: tag ${hexTag(tag)} missing`);
  return t;
}

export const hexTag = (tag: number): string => tag.toString(16).toUpperCase().padStart(tag > 0xff ? 4 : 2, '0');
