/**
 * `POST /api/v1/certificates/import` (administrator): a certificate issued elsewhere — or exported
 * from another Certgate with `certgate cert export` — taken into the inventory, so it can be
 * searched, revoked and answered for by OCSP and the CRL. Only a certificate signed by one of
 * this server's issuers is accepted (signature checked), and never twice (issuer + serial).
 */
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import type { Hono } from 'hono';
import { certificates } from '../../db/schema.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { BadRequest } from '../../issuance/errors.ts';
import { parseCertificate } from '../../pki/certificate.ts';
import { decodeName, formatName } from '../../pki/name.ts';
import { revocationReasons } from '../../pki/oids.ts';
import { fromPem } from '../../pki/pem.ts';
import { certificateImportSchema } from '../openapi.ts';
import { conflictOnDuplicate, readBody, type AdminKit, type C } from './kit.ts';
import { certJson } from './views.ts';

export function mountCertificateImport(api: Hono<AppEnv>, k: AdminKit): void {
  api.post('/certificates/import', k.need('administrator', 'import certificates'), (c) => importCertificate(k, c));
}

async function importCertificate(k: AdminKit, c: C) {
  const { ctx } = k;
  const b = await readBody(c, certificateImportSchema);
  const der = fromPem(b.pem, 'CERTIFICATE')[0];
  if (!der) throw new BadRequest('pem: no PEM certificate', 'pem');
  let parsed;
  try {
    parsed = parseCertificate(der);
  } catch {
    throw new BadRequest('pem: not an X.509 certificate', 'pem');
  }
  const x509 = new X509Certificate(der);
  const issuer = ctx.issuers.list().find((i) => i.subjectDer.equals(Buffer.from(parsed.issuer)) && x509.verify(i.signer.publicKey));
  if (!issuer) throw new BadRequest('pem: not signed by any issuer of this server (import the CA first: certgate issuer import)', 'pem');
  const reason = typeof b.revocationReason === 'string' ? revocationReasons[b.revocationReason as keyof typeof revocationReasons] : b.revocationReason;
  if (typeof b.revocationReason === 'string' && reason === undefined) {
    throw new BadRequest(`revocationReason: unknown reason "${b.revocationReason}"; reasons: ${Object.keys(revocationReasons).join(', ')}`, 'revocationReason');
  }
  const revoked = b.status !== 'valid';
  const partitions = issuer.options.crlPartitions ?? 0;
  const serial = Buffer.from(parsed.serialHex, 'hex');
  const row = {
    id: randomUUID(),
    issuerId: issuer.id,
    serial: parsed.serialHex,
    der,
    subject: formatName(decodeName(parsed.subject)),
    sans: parsed.sans.map((s) => `${s.type}:${s.value}`),
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    profile: b.profile,
    status: b.status,
    revokedAt: revoked ? (b.revokedAt ? new Date(b.revokedAt) : new Date()) : null,
    revocationReason: b.status === 'hold' ? 6 : revoked ? (reason ?? 0) : null,
    spkiSha256: createHash('sha256').update(parsed.spki).digest('hex'),
    protocol: 'import',
    principal: k.actor(c),
    crlPartition: partitions > 1 && serial.length >= 5 ? 1 + (serial.readUInt32BE(1) % partitions) : 0,
  };
  const [stored] = await conflictOnDuplicate(
    () => ctx.db.insert(certificates).values(row).returning(),
    `certificate ${issuer.id}:${parsed.serialHex} is already in the inventory`,
  );
  // A revoked or held import changes what the next CRL lists.
  if (revoked) await ctx.crls.afterChange(issuer.id, row.crlPartition);
  await k.audit(c, 'certificate.import', `${issuer.id}:${parsed.serialHex}`, { profile: b.profile, status: b.status, subject: row.subject });
  return c.json(certJson(stored, true), 201);
}
