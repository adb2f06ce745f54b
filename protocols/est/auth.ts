/**
 * EST client authentication (RFC 7030 §3.3.2, §3.2.3), per label:
 *  - a TLS client certificate issued by a Certgate issuer (not revoked, not expired, stored by
 *    Certgate) or chaining to a CA of the configured trust store (CERTGATE_EST_TRUST);
 *  - HTTP Basic with a credential of that label.
 * A certificate that is presented but not acceptable is refused (403) even when Basic would do:
 * a device presenting a revoked certificate should hear so, not slip through on a password.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context as HonoContext } from 'hono';
import type { Principal } from '../../src/issuance/request.ts';
import { fromPem } from '../../src/pki/pem.ts';
import type { CertificateRecord, ProtocolContext } from '../../src/protocol-context.ts';
import { EstError } from './errors.ts';
import type { Label } from './labels.ts';
import type { UserStore } from './users.ts';

export interface ClientCertificate {
  der: Buffer;
  x509: X509Certificate;
  /** The stored record when a Certgate issuer signed it. */
  record?: CertificateRecord;
}

export interface Authenticated {
  principal: Principal;
  clientCert?: ClientCertificate;
}

/** CA certificates of the configured trust store (PEM file), loaded once. */
export function loadTrustStore(path: string | undefined): X509Certificate[] {
  if (!path) return [];
  return fromPem(readFileSync(path, 'utf8'), 'CERTIFICATE').map((d) => new X509Certificate(d));
}

export class Authenticator {
  constructor(
    private readonly ctx: ProtocolContext,
    private readonly users: UserStore,
    private readonly trust: X509Certificate[],
  ) {}

  async authenticate(c: HonoContext, label: Label): Promise<Authenticated> {
    const allowCert = label.auth !== 'basic';
    const allowBasic = label.auth !== 'cert';
    const chain = this.ctx.http.peerCertificates(c);
    let clientCert: ClientCertificate | undefined;
    if (chain.length > 0) clientCert = await this.checkCertificate(chain);

    const basic = parseBasic(c.req.header('authorization'));
    if (basic && allowBasic) {
      if (!(await this.users.verify(label.name, basic.user, basic.password))) throw this.challenge(label, 'the user name or password is not valid for this label');
      return {
        principal: { id: `est:${label.name}:user:${basic.user}`, protocol: 'est', authenticatedBy: 'password', allowedProfiles: [label.profile] },
        clientCert,
      };
    }
    if (clientCert && allowCert) {
      const id = clientCert.record ? `cert:${clientCert.record.issuerId}:${clientCert.record.serial}` : `cert:sha256:${createHash('sha256').update(clientCert.der).digest('hex').slice(0, 32)}`;
      return {
        principal: { id: `est:${label.name}:${id}`, protocol: 'est', authenticatedBy: 'tls-client-cert', allowedProfiles: [label.profile] },
        clientCert,
      };
    }
    if (basic && !allowBasic) throw new EstError(401, 'this label accepts only TLS client certificates');
    throw this.challenge(label, allowCert ? 'authentication required: a TLS client certificate or HTTP Basic credentials' : 'authentication required: HTTP Basic credentials');
  }

  private challenge(label: Label, message: string): EstError {
    const headers: Record<string, string> = label.auth === 'cert' ? {} : { 'WWW-Authenticate': `Basic realm="est/${label.name}", charset="UTF-8"` };
    return new EstError(401, message, headers);
  }

  /** The leaf of a presented chain, accepted or refused (403). */
  private async checkCertificate(chain: Buffer[]): Promise<ClientCertificate> {
    const der = chain[0];
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(der);
    } catch {
      throw new EstError(403, 'the TLS client certificate cannot be parsed');
    }
    const now = Date.now();
    if (Date.parse(x509.validFrom) > now || Date.parse(x509.validTo) < now) throw new EstError(403, 'the TLS client certificate is not within its validity period');
    const issuer = await this.ctx.issuers.issuerOf(der).catch(() => undefined);
    if (issuer) {
      const record = await this.ctx.certificates.byDer(der);
      if (!record) throw new EstError(403, 'the TLS client certificate is not known to this CA');
      if (record.status !== 'valid') throw new EstError(403, `the TLS client certificate is ${record.status === 'hold' ? 'suspended' : 'revoked'}`);
      return { der, x509, record };
    }
    const intermediates = chain.slice(1).flatMap((d) => {
      try {
        return [new X509Certificate(d)];
      } catch {
        return [];
      }
    });
    if (this.chainsToTrustStore(x509, intermediates)) return { der, x509 };
    throw new EstError(403, 'the TLS client certificate was not issued by a CA this server trusts');
  }

  /** leaf → (presented intermediates)* → a trust-store CA, each signature and validity checked. */
  private chainsToTrustStore(leaf: X509Certificate, intermediates: X509Certificate[]): boolean {
    const now = Date.now();
    let cur = leaf;
    for (let depth = 0; depth < 6; depth++) {
      const anchor = this.trust.find((t) => cur.checkIssued(t) && cur.verify(t.publicKey));
      if (anchor) return Date.parse(anchor.validTo) > now;
      const next = intermediates.find((i) => i.ca && cur.checkIssued(i) && cur.verify(i.publicKey) && Date.parse(i.validTo) > now);
      if (!next) return false;
      cur = next;
    }
    return false;
  }
}

function parseBasic(h: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  return { user: text.slice(0, i), password: text.slice(i + 1) };
}
