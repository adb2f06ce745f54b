/** The JSON shapes of certificates and issuance results, shared by the certificate and request routes. */
import { eq } from 'drizzle-orm';
import type { Context } from '../../context.ts';
import { certificates } from '../../db/schema.ts';
import { NotFound } from '../../issuance/errors.ts';
import type { IssuanceResult } from '../../issuance/request.ts';
import { revocationReasons } from '../../pki/oids.ts';
import { toPem } from '../../pki/pem.ts';

export type CertRow = typeof certificates.$inferSelect;

export function certJson(row: CertRow, detail = false) {
  return {
    id: row.id,
    issuerId: row.issuerId,
    serial: row.serial,
    subject: row.subject,
    sans: row.sans,
    notBefore: row.notBefore,
    notAfter: row.notAfter,
    profile: row.profile,
    status: row.status,
    expired: row.notAfter.getTime() <= Date.now(),
    revokedAt: row.revokedAt,
    revocationReason: row.revocationReason == null ? null : reasonName(row.revocationReason),
    invalidityDate: row.invalidityDate,
    protocol: row.protocol,
    principal: row.principal,
    replacesId: row.replacesId,
    createdAt: row.createdAt,
    ...(detail ? { metadata: row.metadata, pem: toPem(row.der, 'CERTIFICATE') } : {}),
  };
}

function reasonName(code: number): string {
  return (Object.entries(revocationReasons).find(([, v]) => v === code)?.[0] as string | undefined) ?? String(code);
}

async function certById(ctx: Context, id: string) {
  const [row] = await ctx.db.select().from(certificates).where(eq(certificates.id, id));
  if (!row) throw new NotFound(`no certificate ${id}`);
  return row;
}

/** An issuance outcome: the certificate with its chain, or the held request (and why). */
export async function resultJson(ctx: Context, r: IssuanceResult) {
  if (r.status === 'issued') {
    return {
      status: r.status,
      replayed: r.replayed,
      certificate: certJson(await certById(ctx, r.certificate.id), true),
      chainPem: r.chain.map((d) => toPem(d, 'CERTIFICATE')).join(''),
    };
  }
  if (r.status === 'pending') return { status: r.status, replayed: r.replayed, requestId: r.requestId };
  return { status: r.status, replayed: r.replayed, requestId: r.requestId, reason: r.reason };
}
