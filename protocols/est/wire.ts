/**
 * EST message bodies on the wire: RFC 8951 base64 (accepted with or without line breaks and
 * whatever Content-Transfer-Encoding says; answered without line breaks and with Content-Length),
 * media types, and the multipart/mixed answer of serverkeygen (RFC 7030 §4.4.2).
 */
import { randomBytes } from 'node:crypto';
import { EstError } from './errors.ts';

export const mediaType = {
  pkcs10: 'application/pkcs10',
  certsOnly: 'application/pkcs7-mime; smime-type=certs-only',
  csrattrs: 'application/csrattrs',
  pkcs8: 'application/pkcs8',
  serverKey: 'application/pkcs7-mime; smime-type=server-generated-key',
  cmcRequest: 'application/pkcs7-mime; smime-type=CMC-request',
  cmcResponse: 'application/pkcs7-mime; smime-type=CMC-response',
} as const;

/** The media type of a Content-Type header, lower case, without parameters. */
export function baseType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** One parameter of a Content-Type header (case-insensitive name, quotes removed). */
export function typeParam(contentType: string | undefined, name: string): string | undefined {
  for (const p of (contentType ?? '').split(';').slice(1)) {
    const i = p.indexOf('=');
    if (i < 0) continue;
    if (p.slice(0, i).trim().toLowerCase() === name) return p.slice(i + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return undefined;
}

/** Refuses a body whose media type is not `expected` with 400 (RFC 7030 names no status for it). */
export function requireType(contentType: string | undefined, expected: string): void {
  if (baseType(contentType) !== expected) {
    throw new EstError(400, `Content-Type must be ${expected}, not ${baseType(contentType) || 'absent'}`);
  }
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes an RFC 8951 body: base64 with any whitespace (line breaks of any length) between
 * characters. Content-Transfer-Encoding is ignored, as RFC 8951 §3 says. Anything else is refused.
 */
export function decodeBase64Body(body: Uint8Array): Buffer {
  const text = Buffer.from(body).toString('latin1').replace(/[ \t\r\n]+/g, '');
  if (text.length === 0) throw new EstError(400, 'empty body: a base64-encoded DER message is required');
  if (text.length % 4 !== 0 || !B64.test(text)) throw new EstError(400, 'the body is not base64 (RFC 8951)');
  return Buffer.from(text, 'base64');
}

/** Headers of a base64 answer: the body carries no line breaks, its length is declared. */
export function base64Answer(der: Uint8Array, contentType: string): { body: string; headers: Record<string, string> } {
  const body = Buffer.from(der).toString('base64');
  return {
    body,
    headers: {
      'Content-Type': contentType,
      'Content-Transfer-Encoding': 'base64',
      'Content-Length': String(body.length),
    },
  };
}

/** A multipart/mixed body (RFC 2046 §5.1) whose parts are base64 DER, as serverkeygen answers. */
export function multipartMixed(parts: { contentType: string; der: Uint8Array }[]): { body: string; headers: Record<string, string> } {
  const boundary = `est-${randomBytes(12).toString('hex')}`;
  let body = '';
  for (const p of parts) {
    body += `--${boundary}\r\nContent-Type: ${p.contentType}\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(p.der).toString('base64')}\r\n`;
  }
  body += `--${boundary}--\r\n`;
  return {
    body,
    headers: { 'Content-Type': `multipart/mixed; boundary=${boundary}`, 'Content-Length': String(Buffer.byteLength(body)) },
  };
}
