import type { IssuerView, ProtocolContext } from '../../src/protocol-context.ts';
import { EstError } from './errors.ts';
import type { Label } from './labels.ts';

/** The CA a label issues from: the label's issuer, else its profile's, else the default. */
export async function labelIssuer(ctx: ProtocolContext, label: Label): Promise<IssuerView> {
  const profile = await ctx.profiles.get(label.profile);
  const id = label.issuerId ?? profile?.issuer;
  const issuer = id ? await ctx.issuers.get(id) : ctx.issuers.default();
  if (!issuer) throw new EstError(503, 'no issuing CA is configured for this label');
  return issuer;
}

/** The issuer's certificate and the CAs above it, each once (RFC 7030 §4.1.3). */
export function chainOf(issuer: IssuerView): Buffer[] {
  const seen = new Set<string>();
  return [issuer.certDer, ...issuer.chain].filter((der) => {
    const k = der.toString('base64');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
