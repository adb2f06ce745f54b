/**
 * GetNextCACert (RFC 8894 §3.5.2, §4.7): during a CA rollover an operator has announced
 * (`certgate issuer rollover <id> --successor <next>`), the next CA's certificates, as a
 * degenerate certificates-only SignedData, signed in turn by the current CA's SCEP signer (the RA,
 * or the CA itself without one) so that a client can trust the next CA through the one it has:
 *
 *   SignedData (signer: current RA/CA) { eContent: ContentInfo { SignedData (no signers) { certs } } }
 *
 * GetCACaps lists GetNextCACert only while such a rollover is pending.
 */
import type { IssuerView, ProtocolContext } from '../../src/protocol-context.ts';
import { buildCertsOnly, buildSignedData } from '../../src/pki/cms.ts';
import type { ScepIdentity } from './service.ts';

const DATA = '1.2.840.113549.1.7.1';

/** The successor of `issuer`, when an operator has announced one and it is still active. */
export async function pendingSuccessor(ctx: ProtocolContext, issuer: IssuerView): Promise<IssuerView | undefined> {
  const current = await ctx.issuers.get(issuer.id);
  if (!current?.successorId) return undefined;
  const next = await ctx.issuers.get(current.successorId);
  return next && next.status === 'active' ? next : undefined;
}

/** The GetNextCACert answer (application/x-x509-next-ca-cert), or undefined with no rollover pending. */
export async function nextCaCert(ctx: ProtocolContext, issuer: IssuerView, identity: ScepIdentity): Promise<Buffer | undefined> {
  const next = await pendingSuccessor(ctx, issuer);
  if (!next) return undefined;
  const chain = [next.certDer, ...next.chain.filter((c) => !c.equals(next.certDer))];
  return buildSignedData({
    content: buildCertsOnly(chain),
    contentType: DATA,
    signer: identity.signerKey.signer,
    signerCert: identity.signerCert,
    certificates: identity.certificates,
    rsaSignatureOid: 'rsaEncryption',
  });
}
