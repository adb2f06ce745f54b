/**
 * ACME Renewal Information (RFC 9773): certificate identifiers and suggested renewal windows.
 */
import { createHash } from 'node:crypto';

/** `base64url(AKI keyIdentifier) "." base64url(serial INTEGER content octets)`. */
export function certId(akiKeyId: Uint8Array, serialHex: string): string {
  return `${Buffer.from(akiKeyId).toString('base64url')}.${Buffer.from(serialHex, 'hex').toString('base64url')}`;
}

export function parseCertId(s: string): { aki: Buffer; serial: string } | undefined {
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(s ?? '');
  if (!m) return undefined;
  const aki = Buffer.from(m[1], 'base64url');
  const serial = Buffer.from(m[2], 'base64url');
  if (!aki.length || !serial.length || serial.length > 21) return undefined;
  return { aki, serial: serial.toString('hex') };
}

/**
 * The suggested window: one tenth of the lifetime wide, starting somewhere between 60 % and 70 %
 * of the lifetime — where exactly is fixed by a hash of the serial, so certificates issued at the
 * same moment (a fleet) are told to renew at different times. Revoked: renew now.
 */
export function renewalWindow(
  cert: { notBefore: Date; notAfter: Date; serial: string; status: string },
  now = Date.now(),
): { start: Date; end: Date } {
  if (cert.status !== 'valid') return { start: new Date(now - 3600_000), end: new Date(now) };
  const nb = cert.notBefore.getTime();
  const life = cert.notAfter.getTime() - nb;
  const h = createHash('sha256').update(cert.serial).digest().readUInt32BE(0) / 0x1_0000_0000;
  const start = nb + life * (0.6 + 0.1 * h);
  return { start: new Date(Math.floor(start / 1000) * 1000), end: new Date(Math.floor((start + life * 0.1) / 1000) * 1000) };
}
