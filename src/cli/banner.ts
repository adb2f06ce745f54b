import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Context } from '../context.ts';
import type { ProtocolModule } from '../protocol.ts';
import type { RunningServer } from '../server.ts';
import { toPem } from '../pki/pem.ts';

/**
 * The one start-up banner: endpoints, the root's fingerprint and PEM path, how to get a token. On
 * stderr: stdout carries only the JSON log lines, for whatever collects them.
 */
export function printBanner(ctx: Context, server: RunningServer, protocols: ProtocolModule[]): void {
  const roots = ctx.issuers.list().filter((i) => i.isRoot);
  const rootFile = join(ctx.config.dataDir, 'root.pem');
  writeFileSync(rootFile, roots.map((r) => toPem(r.certDer, 'CERTIFICATE')).join(''));
  const base = { http: server.httpUrl, https: server.httpsUrl ?? server.httpUrl };
  const lines: [string, string][] = [
    ['health', `${base.http}/healthz  ${base.http}/readyz`],
    ['metrics', `${base.http}/metrics`],
    ['admin API', `${base.http}/api/v1  (OpenAPI: ${base.http}/api/v1/openapi.json)`],
    ['web console', `${base.http}/console/`],
    ...ctx.issuers.list().map((i): [string, string] => [`CA ${i.id}`, `${base.http}/ca/${i.id}.crt  ${base.http}/ca/${i.id}.pem  CRL ${base.http}/crl/${i.id}.crl`]),
  ];
  for (const p of protocols) for (const e of p.endpoints?.(base) ?? []) lines.push([e.label, e.url]);
  const width = Math.max(...lines.map(([l]) => l.length));
  const out = [
    '',
    `Certgate is running  (database: ${ctx.database.kind === 'pglite' ? `PGlite in ${ctx.config.dataDir}` : 'PostgreSQL'})`,
    `  HTTP  ${server.httpUrl}`,
    server.httpsUrl ? `  HTTPS ${server.httpsUrl}` : '  HTTPS off',
    '',
    ...lines.map(([l, u]) => `  ${l.padEnd(width)}  ${u}`),
    '',
    ...roots.map((r) => `  root ${r.id} SHA-256 fingerprint: ${fingerprint(r.certDer)}`),
    `  root certificate (PEM): ${rootFile}`,
    `  admin token: npx certgate token create --role administrator   (or: npm run certgate -- token create --role administrator)`,
    '',
    ...(process.env.CERTGATE_PUBLIC_URL
      ? []
      : [
          `  WARNING: CERTGATE_PUBLIC_URL is not set: certificates embed CRL, OCSP and caIssuers links to ${ctx.config.publicUrl},`,
          '  which clients elsewhere cannot reach. Set it to the URL clients use (e.g. https://ca.example.com) before issuing for real.',
          '',
        ]),
  ];
  process.stderr.write(out.join('\n') + '\n');
}

function fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}
