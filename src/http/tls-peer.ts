import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Context as HonoContext } from 'hono';

/** The TLS socket under a request served by @hono/node-server over node:https; undefined over plain HTTP. */
function tlsSocket(c: HonoContext): TLSSocket | undefined {
  const socket = (c.env as { incoming?: { socket?: TLSSocket } } | undefined)?.incoming?.socket;
  return socket && socket.encrypted ? socket : undefined;
}

/**
 * The client's certificate chain as it sent it (leaf first, DER); [] over plain HTTP or without a
 * client certificate. Node links each certificate to its issuer; the chain ends where a certificate
 * is its own issuer (a root) or the client sent no more.
 */
export function peerCertificates(c: HonoContext): Buffer[] {
  const socket = tlsSocket(c);
  if (!socket) return [];
  const out: Buffer[] = [];
  let cert: PeerCertificate | undefined = socket.getPeerCertificate(true) as PeerCertificate;
  while (cert?.raw && out.length < 16) {
    out.push(Buffer.from(cert.raw));
    const next: PeerCertificate | undefined = (cert as { issuerCertificate?: PeerCertificate }).issuerCertificate;
    if (!next || next === cert || Buffer.from(next.raw ?? []).equals(cert.raw)) break;
    cert = next;
  }
  return out;
}

/**
 * The TLS channel binding of the connection (EST's tls-unique in the CSR's challengePassword, RFC 7030
 * §3.5): on TLS 1.3 `tls-exporter` (RFC 9266: 32 bytes of the exporter with label
 * EXPORTER-Channel-Binding and no context); on TLS 1.2 `tls-unique` (RFC 5929 §3.1: the first Finished
 * message of the latest handshake — the client's in a full handshake, the server's in a resumed one).
 */
export function channelBinding(c: HonoContext): { type: 'tls-unique' | 'tls-exporter'; value: Buffer } | undefined {
  const socket = tlsSocket(c);
  if (!socket) return undefined;
  const version = socket.getProtocol();
  if (version === 'TLSv1.3') return { type: 'tls-exporter', value: socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)) };
  if (version === 'TLSv1.2') {
    const value = socket.isSessionReused() ? socket.getFinished() : socket.getPeerFinished();
    return value ? { type: 'tls-unique', value } : undefined;
  }
  return undefined;
}
