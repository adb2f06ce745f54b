/**
 * Who answers for SCEP: the RA (issued from the `scep-ra` system profile on first start, RSA so
 * clients can encrypt to it) or, without an RA, the issuing CA itself, which must then be RSA.
 */
import type { IssuerView, ProtocolContext } from '../../src/protocol-context.ts';
import { buildCertsOnly } from '../../src/pki/cms.ts';
import type { CaCertAnswer } from './routes.ts';
import type { ScepIdentity } from './service.ts';
import type { ScepSettings } from './settings.ts';

export interface ScepKeys {
  issuer: IssuerView;
  identity: ScepIdentity;
  caCert: CaCertAnswer;
}

export async function loadScepKeys(ctx: ProtocolContext, settings: ScepSettings): Promise<ScepKeys> {
  const issuer = ctx.issuers.default();
  if (!issuer) throw new Error('SCEP: no default issuer');
  const caKey = await ctx.keys.forIssuer(issuer.id);
  // The issuer's chain up to the root, without repeating the issuer.
  const chain = [issuer.certDer, ...issuer.chain.filter((c) => !c.equals(issuer.certDer))];
  if (settings.ra) {
    const ra = await ctx.keys.serviceIdentity({ name: 'scep-ra', systemProfile: 'scep-ra', subject: settings.raSubject, key: { type: 'RSA', bits: 2048 }, issuerId: issuer.id });
    const recipients = [{ certDer: ra.certDer, key: ra.key }];
    if (caKey.decrypter) recipients.push({ certDer: issuer.certDer, key: caKey });
    return {
      issuer,
      identity: { signerCert: ra.certDer, signerKey: ra.key, certificates: [ra.certDer, ...chain], recipients },
      // RFC 8894 §4.2.1.2: CA and RA certificates as a degenerate certificates-only SignedData.
      caCert: { body: buildCertsOnly([ra.certDer, ...chain]), contentType: 'application/x-x509-ca-ra-cert' },
    };
  }
  if (!caKey.decrypter) throw new Error('SCEP without an RA (CERTGATE_SCEP_RA=false) needs an RSA issuing CA: clients encrypt to it');
  return {
    issuer,
    identity: { signerCert: issuer.certDer, signerKey: caKey, certificates: chain, recipients: [{ certDer: issuer.certDer, key: caKey }] },
    caCert:
      chain.length === 1
        ? { body: issuer.certDer, contentType: 'application/x-x509-ca-cert' }
        : { body: buildCertsOnly(chain), contentType: 'application/x-x509-ca-ra-cert' },
  };
}
