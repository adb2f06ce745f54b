/** Certificate download (RFC 8555 §7.4.2): PEM chain, with the alternate chain that includes the root. */
import { toPem } from '../../../src/pki/pem.ts';
import { problem } from '../problems.ts';
import type { AcmeWeb, Handler } from './web.ts';

export function certificateHandlers(w: AcmeWeb) {
  const { d, ctx } = w;

  const certificate: Handler = async (c) => {
    const id = c.req.param('id') ?? '';
    const wellFormed = /^[0-9a-f-]{36}$/.test(id);
    // Just issued here: known without a read (a stored certificate never changes).
    const known = wellFormed ? d.runner.issued.get(id) : undefined;
    const v = await w.auth(c, 'kid');
    const urls = w.urlsOf(c);
    if (v.payload.length) throw problem('malformed', 'a certificate is downloaded with POST-as-GET (empty payload)');
    const alt = c.req.param('alt');
    if (alt !== undefined && alt !== '1') throw problem('malformed', 'no such certificate chain', { status: 404 });
    const stored = wellFormed && !known ? await ctx.certificates.byId(id) : undefined;
    const row = known ?? (stored ? { der: Buffer.from(stored.der), issuerId: stored.issuerId, principal: stored.principalId } : undefined);
    if (!row || !row.principal.startsWith('acme:account:')) throw problem('malformed', 'no such certificate', { status: 404 });
    if (row.principal !== `acme:account:${v.account!.id}`) throw problem('unauthorized', 'the certificate belongs to another account');
    const issuer = await ctx.issuers.get(row.issuerId);
    const chain = issuer?.chain ?? [];
    // Default chain: up to (not including) the root; the alternate includes the root.
    const withoutRoot = chain.length > 1 ? chain.slice(0, -1) : chain;
    const served = alt === '1' ? chain : withoutRoot;
    const pem = [row.der, ...served].map((d2) => toPem(d2, 'CERTIFICATE')).join('');
    const base = urls.cert(id);
    c.header('Link', alt === '1' ? `<${base}>;rel="alternate"` : `<${base}/1>;rel="alternate"`, { append: true });
    return c.body(pem, 200, { 'Content-Type': 'application/pem-certificate-chain' });
  };

  return { certificate };
}
