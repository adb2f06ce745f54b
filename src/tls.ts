import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from './context.ts';
import type { Identifier } from './issuance/request.ts';
import { parseCertificate } from './pki/certificate.ts';
import { fromPem, toPem } from './pki/pem.ts';

export interface ServerTls {
  key: string;
  certChain: string;
  /** Roots whose client certificates the TLS layer accepts for verification (EST, mTLS). */
  trust: string;
}

/**
 * The HTTPS certificate for localhost, 127.0.0.1, ::1 and CERTGATE_TLS_NAMES, issued by the
 * default issuer through the pipeline (profile tls-server). Kept in `<dataDir>/tls/`; re-issued
 * when missing, within 30 days of expiry, or when the names change.
 */
export async function ensureServerTls(ctx: Context): Promise<ServerTls> {
  const dir = join(ctx.config.dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = join(dir, 'server.key');
  const certFile = join(dir, 'server.pem');
  const names: Identifier[] = [
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '::1' },
    ...ctx.config.tlsNames.map((n): Identifier => ({ type: /^[\d.]+$|:/.test(n) ? 'ip' : 'dns', value: n.toLowerCase() })),
  ];
  const wanted = names.map((n) => `${n.type}:${n.value}`).sort().join(',');
  const trust = ctx.issuers.list().filter((i) => i.isRoot).map((i) => toPem(i.certDer, 'CERTIFICATE')).join('');

  if (existsSync(keyFile) && existsSync(certFile)) {
    const pem = readFileSync(certFile, 'utf8');
    const [leaf] = fromPem(pem, 'CERTIFICATE');
    if (leaf) {
      const c = parseCertificate(leaf);
      const have = c.sans.map((n) => `${n.type}:${n.value}`).sort().join(',');
      const issuer = ctx.issuers.defaultIssuer();
      const issuerKnown = !!issuer && Buffer.from(c.issuer).equals(issuer.subjectDer);
      if (have === wanted && c.notAfter.getTime() - Date.now() > 30 * 86400_000 && issuerKnown) {
        return { key: readFileSync(keyFile, 'utf8'), certChain: pem, trust };
      }
    }
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const result = await ctx.pipeline.issue({
    principal: { id: 'certgate:server', protocol: 'internal', authenticatedBy: 'local' },
    profile: 'tls-server',
    key: { kind: 'spki', der: publicKey.export({ format: 'der', type: 'spki' }), pop: 'verified-by-protocol' },
    subject: [{ type: 'CN', value: 'localhost' }],
    sans: names,
  });
  if (result.status !== 'issued') throw new Error('the tls-server profile needs manual approval; cannot issue the server certificate');
  const chain = [result.certificate.der, ...result.chain.slice(0, -1)].map((d) => toPem(d, 'CERTIFICATE')).join('');
  const key = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  writeFileSync(keyFile, key, { mode: 0o600 });
  writeFileSync(certFile, chain);
  return { key, certChain: chain, trust };
}
