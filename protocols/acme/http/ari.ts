/** Renewal information (RFC 9773): the suggested renewal window of a certificate. */
import { parseCertificate } from '../../../src/pki/certificate.ts';
import { keyIdentifier } from '../../../src/pki/extensions.ts';
import { parseCertId, renewalWindow } from '../ari.ts';
import { problem } from '../problems.ts';
import type { AcmeWeb, Handler } from './web.ts';

export function ariHandlers(w: AcmeWeb) {
  const { ctx, settings } = w;

  /** An issuer's key identifier (the AKI of what it signs), kept per issuer certificate. */
  const keyIds = new Map<string, { certDer: Buffer; keyId: Buffer }>();
  const issuerKeyId = (issuerId: string): Buffer | undefined => {
    const i = ctx.issuers.list().find((x) => x.id === issuerId);
    if (!i) return undefined;
    let k = keyIds.get(issuerId);
    if (!k || !k.certDer.equals(i.certDer)) {
      const parsed = parseCertificate(i.certDer);
      keyIds.set(issuerId, (k = { certDer: i.certDer, keyId: parsed.ski ?? keyIdentifier(parsed.spki) }));
    }
    return k.keyId;
  };

  const renewalInfo: Handler = async (c) => {
    const ref = parseCertId(c.req.param('id') ?? '');
    if (!ref) throw problem('malformed', 'not an RFC 9773 certificate identifier');
    const rows = await ctx.certificates.bySerialAnyIssuer(ref.serial);
    const row = rows.find((r) => issuerKeyId(r.issuerId)?.equals(ref.aki));
    if (!row) throw problem('malformed', 'no certificate with this identifier', { status: 404 });
    const win = renewalWindow(row);
    return w.send(c, 200, { suggestedWindow: { start: win.start.toISOString(), end: win.end.toISOString() } }, { 'Retry-After': String(settings.ariRetryAfter) });
  };

  return { renewalInfo };
}
