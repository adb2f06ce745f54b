/** revokeCert (RFC 8555 §7.6): by the requesting account, an account holding the names, or the certificate key. */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { isIssuanceError } from '../../../src/issuance/errors.ts';
import { parseCertificate } from '../../../src/pki/certificate.ts';
import type { Verified } from '../jws.ts';
import { problem } from '../problems.ts';
import { HOLDER_REASONS, holdsAuthorizationsFor } from '../revocation.ts';
import type { AcmeWeb, Handler } from './web.ts';

/** RFC 5280 reasons a subscriber may give (no certificateHold, no removeFromCRL). */
const REVOCATION_REASONS = new Set([0, 1, 2, 3, 4, 5, 9, 10]);

type Parsed = ReturnType<typeof parseCertificate>;

export function revocationHandlers(w: AcmeWeb) {
  const { ctx, db } = w;

  /** Who revokes, as the audit actor; throws when the signer may not revoke this certificate. */
  const actorFor = async (v: Verified, parsed: Parsed, principalId: string, serial: string, reason: number): Promise<string> => {
    if (!v.account) {
      const spki = createPublicKey({ key: v.jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'der' });
      if (!spki.equals(Buffer.from(parsed.spki))) throw problem('unauthorized', 'the request is not signed by the certificate key');
      return `acme:certificate-key:${serial}`;
    }
    const actor = `acme:account:${v.account.id}`;
    if (principalId === actor) return actor;
    // RFC 8555 §7.6: an account holding authorizations for every name may revoke too.
    if (!(await holdsAuthorizationsFor(db, v.account.id, parsed.sans))) {
      throw problem('unauthorized', 'this account did not request the certificate and holds no valid authorization for every identifier in it');
    }
    if (!HOLDER_REASONS.has(reason)) {
      throw problem('badRevocationReason', 'an account revoking through its authorizations (not the requester) may give reason 0 (unspecified) or 5 (cessationOfOperation)');
    }
    return `${actor}:authorizations`;
  };

  const revokeCert: Handler = async (c) => {
    const v = await w.auth(c, 'either');
    const body = v.body as { certificate?: unknown; reason?: unknown } | undefined;
    if (!body || typeof body.certificate !== 'string' || !/^[A-Za-z0-9_-]+$/.test(body.certificate)) throw problem('malformed', 'revokeCert needs {"certificate": base64url DER}');
    const der = Buffer.from(body.certificate, 'base64url');
    let parsed: Parsed;
    try {
      parsed = parseCertificate(der);
    } catch {
      throw problem('malformed', 'the certificate is not valid DER');
    }
    const reason = body.reason === undefined ? 0 : body.reason;
    if (typeof reason !== 'number' || !Number.isInteger(reason) || !REVOCATION_REASONS.has(reason)) {
      throw problem('badRevocationReason', 'the revocation reason must be one of 0, 1, 2, 3, 4, 5, 9, 10');
    }
    const row = await ctx.certificates.byDer(der);
    if (!row) throw problem('malformed', 'this certificate was not issued by this server', { status: 404 });
    const actor = await actorFor(v, parsed, row.principalId, row.serial, reason);
    if (row.status === 'revoked') throw problem('alreadyRevoked', 'the certificate is already revoked');
    try {
      await ctx.revocation.revoke(row.issuerId, row.serial, reason, actor);
    } catch (e) {
      if (isIssuanceError(e) && e.code === 'conflict') throw problem('alreadyRevoked', 'the certificate is already revoked');
      throw e;
    }
    return c.body(null, 200);
  };

  return { revokeCert };
}
