/**
 * NestedMessageContent (RFC 9810 §5.1.3.4, RFC 9483 §5.2.2): an RA wraps one or more PKIMessages
 * in a `nested` body under its own protection (adding protection, or batching).
 *
 *   NestedMessageContent ::= PKIMessages
 *   PKIMessages ::= SEQUENCE SIZE (1..MAX) OF PKIMessage
 *
 * Decoding returns each inner PKIMessage's DER, to be decoded and checked as a message of its own.
 */
import { Tag, childList, readTlv, seq, tlvBytes } from './der.ts';

/** The most messages one nested body may carry (a batch, not a flood). */
export const MAX_NESTED_MESSAGES = 16;

export function decodeNestedMessageContent(der: Uint8Array): Buffer[] {
  const t = readTlv(der, 0);
  if (t.tag !== Tag.SEQUENCE || t.end !== der.length) throw new Error('NestedMessageContent: not a SEQUENCE');
  const list = childList(der, t);
  if (list.length === 0) throw new Error('NestedMessageContent: empty');
  if (list.length > MAX_NESTED_MESSAGES) throw new Error(`NestedMessageContent: more than ${MAX_NESTED_MESSAGES} messages`);
  return list.map((m) => {
    if (m.tag !== Tag.SEQUENCE) throw new Error('NestedMessageContent: an element is not a PKIMessage');
    return Buffer.from(tlvBytes(der, m));
  });
}

export function encodeNestedMessageContent(messages: Uint8Array[]): Buffer {
  if (messages.length === 0) throw new Error('NestedMessageContent: empty');
  return seq(...messages);
}
