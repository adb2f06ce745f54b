/**
 * tls-alpn-01 (RFC 8737, RFC 8738 for IP addresses): a TLS handshake offering only the
 * `acme-tls/1` protocol; the self-signed certificate must name exactly the identifier and carry
 * the critical id-pe-acmeIdentifier extension holding SHA-256(key authorization).
 */
import { createHash } from 'node:crypto';
import { connect } from 'node:tls';
import { parseCertificate } from '../../../src/pki/certificate.ts';
import { Tag, readTlv } from '../../../src/pki/der.ts';
import { ipToBytes } from '../../../src/pki/extensions.ts';
import type { ValidationInput } from './http01.ts';
import { ValidationError } from './resolve.ts';

export const ID_PE_ACME_IDENTIFIER = '1.3.6.1.5.5.7.1.31';

/** The reverse-mapping name used as SNI for an IP identifier (RFC 8738 §6). */
export function reverseName(ip: string): string {
  const b = ipToBytes(ip);
  if (b.length === 4) return `${[...b].reverse().join('.')}.in-addr.arpa`;
  const nibbles = [...b].flatMap((x) => [x >> 4, x & 15]).map((n) => n.toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

function handshake(address: string, port: number, servername: string, timeoutMs: number): Promise<{ der: Buffer; alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: address, port, servername, ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false, timeout: timeoutMs });
    const timer = setTimeout(() => sock.destroy(new Error('timeout')), timeoutMs);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = sock.getPeerCertificate(false);
      const alpn = sock.alpnProtocol;
      sock.end();
      sock.destroy();
      if (!cert || !cert.raw) return reject(new Error('no certificate'));
      resolve({ der: cert.raw, alpn: alpn ?? false });
    });
    sock.once('timeout', () => sock.destroy(new Error('timeout')));
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export async function validateTlsAlpn01(v: ValidationInput): Promise<{ address: string; port: number }> {
  const port = v.settings.tlsAlpn01Port;
  const isIp = v.identifier.type === 'ip';
  let addresses: string[];
  if (isIp) {
    v.resolution.guard(v.identifier.value);
    addresses = [v.identifier.value];
  } else addresses = await v.resolution.addresses(v.identifier.value);
  const sni = isIp ? reverseName(v.identifier.value) : v.identifier.value;
  let got: { der: Buffer; alpn: string | false } | undefined;
  let used = '';
  let lastErr: Error | undefined;
  for (const a of addresses) {
    try {
      got = await handshake(a, port, sni, v.settings.validationTimeoutMs);
      used = a;
      break;
    } catch (e) {
      lastErr = e as Error;
    }
  }
  if (!got) {
    const code = (lastErr as NodeJS.ErrnoException | undefined)?.code;
    throw new ValidationError('tls', `TLS handshake with ${v.identifier.value} on port ${port} failed: ${code ?? lastErr?.message ?? 'error'}`);
  }
  if (got.alpn !== 'acme-tls/1') throw new ValidationError('tls', 'the server did not negotiate the acme-tls/1 protocol');
  let cert;
  try {
    cert = parseCertificate(got.der);
  } catch {
    throw new ValidationError('tls', 'the validation certificate is not valid DER');
  }
  const want = isIp ? { type: 'ip', value: v.identifier.value } : { type: 'dns', value: v.identifier.value };
  const sameIp = (a: string, b: string) => {
    try {
      return ipToBytes(a).equals(ipToBytes(b));
    } catch {
      return false;
    }
  };
  if (
    cert.sans.length !== 1 ||
    cert.sans[0].type !== want.type ||
    (want.type === 'dns' ? cert.sans[0].value.toLowerCase() !== want.value : !sameIp(cert.sans[0].value, want.value))
  ) {
    throw new ValidationError('unauthorized', `the validation certificate must name exactly ${want.type}:${want.value}`);
  }
  const ext = cert.extensions.find((e) => e.oid === ID_PE_ACME_IDENTIFIER);
  if (!ext) throw new ValidationError('unauthorized', 'the validation certificate has no acmeIdentifier extension');
  if (!ext.critical) throw new ValidationError('unauthorized', 'the acmeIdentifier extension must be critical');
  const expected = createHash('sha256').update(v.keyAuthorization).digest();
  let value: Buffer | undefined;
  try {
    const t = readTlv(ext.value, 0);
    if (t.tag === Tag.OCTET_STRING && t.end === ext.value.length) value = Buffer.from(ext.value.subarray(t.start, t.end));
  } catch {
    /* malformed below */
  }
  if (!value || !value.equals(expected)) throw new ValidationError('unauthorized', 'the acmeIdentifier extension does not hold the expected digest');
  return { address: used, port };
}
