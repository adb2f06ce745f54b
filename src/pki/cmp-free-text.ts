/**
 * PKIFreeText (RFC 9810 §5.1.1).
 *
 *   PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
 */
import { Tag, children, seq, utf8String, type Tlv } from './der.ts';

export function decodeFreeText(buf: Uint8Array, t: Tlv): string[] {
  if (t.tag !== Tag.SEQUENCE) throw new Error('PKIFreeText: not a SEQUENCE');
  const out: string[] = [];
  for (const s of children(buf, t.start, t.end)) {
    if (s.tag !== Tag.UTF8_STRING) throw new Error('PKIFreeText: not a UTF8String');
    out.push(Buffer.from(buf.subarray(s.start, s.end)).toString('utf8'));
  }
  return out;
}

export function encodeFreeText(texts: string[]): Buffer {
  return seq(...texts.map(utf8String));
}
