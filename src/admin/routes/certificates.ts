/** Certificates: search, read (JSON or PEM), issue from a CSR, revoke, suspend, reinstate. */
import { and, arrayContains, arrayOverlaps, count, desc, eq, gt, ilike, lte, type SQL } from 'drizzle-orm';
import type { Hono } from 'hono';
import type { z } from 'zod';
import { certificates } from '../../db/schema.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { BadRequest, NotFound } from '../../issuance/errors.ts';
import type { EnrollmentRequest, Identifier, ValidityRequest } from '../../issuance/request.ts';
import { normaliseSerial } from '../../issuance/revocation.ts';
import { toPem } from '../../pki/pem.ts';
import { certificateQuerySchema, certRefSchema, issueSchema, revokeSchema } from '../openapi.ts';
import { check, operatorOf, readBody, uuidRe, type AdminKit, type C } from './kit.ts';
import { certJson, resultJson, type CertRow } from './views.ts';
import { mountCertificateImport } from './certificate-import.ts';

export function mountCertificates(api: Hono<AppEnv>, k: AdminKit): void {
  const { ctx, need, actor } = k;

  const findCertificate = async (idOrSerial: string, issuerId?: string): Promise<CertRow> => {
    let rows: CertRow[];
    if (uuidRe.test(idOrSerial)) {
      rows = await ctx.db.select().from(certificates).where(eq(certificates.id, idOrSerial.toLowerCase()));
    } else {
      let serial: string;
      try {
        serial = normaliseSerial(idOrSerial);
      } catch {
        throw new NotFound(`no certificate "${idOrSerial}"`);
      }
      const where = issuerId ? and(eq(certificates.serial, serial), eq(certificates.issuerId, issuerId)) : eq(certificates.serial, serial);
      rows = await ctx.db.select().from(certificates).where(where).limit(2);
      if (rows.length > 1) throw new BadRequest(`serial ${idOrSerial} exists under several issuers; add ?issuer=ID`, 'issuer');
    }
    if (rows.length === 0) throw new NotFound(`no certificate "${idOrSerial}"`);
    return rows[0];
  };

  api.get('/certificates', need('auditor', 'search certificates'), (c) => searchCertificates(k, c));

  api.get('/certificates/:id', need('auditor', 'read certificates'), async (c) =>
    c.json(certJson(await findCertificate(c.req.param('id'), c.req.query('issuer')), true)),
  );

  api.get('/certificates/:id/pem', need('auditor', 'read certificates'), async (c) => {
    const row = await findCertificate(c.req.param('id'), c.req.query('issuer'));
    let pem = toPem(row.der, 'CERTIFICATE');
    if (c.req.query('chain') === '1' || c.req.query('chain') === 'true') {
      const issuer = await ctx.issuers.get(row.issuerId);
      pem += (issuer?.chain ?? []).map((d) => toPem(d, 'CERTIFICATE')).join('');
    }
    return c.text(pem, 200, { 'Content-Type': 'application/x-pem-file' });
  });

  api.post('/certificates', need('officer', 'issue certificates'), (c) => issueCertificate(k, c));
  mountCertificateImport(api, k);

  const revocationRoute = (action: 'revoke' | 'suspend' | 'reinstate') =>
    need('officer', `${action} certificates`);

  api.post('/certificates/:serial/revoke', revocationRoute('revoke'), async (c) => {
    const b = await readBody(c, revokeSchema, true);
    if (b.invalidityDate && b.invalidityDate.getTime() > Date.now() + 60_000) {
      throw new BadRequest('invalidityDate: must not be in the future', 'invalidityDate');
    }
    const row = await ctx.revocation.revoke({ serial: c.req.param('serial'), issuerId: b.issuerId }, b.reason, actor(c), b.invalidityDate);
    return c.json(certJson(row));
  });

  api.post('/certificates/:serial/suspend', revocationRoute('suspend'), async (c) => {
    const b = await readBody(c, certRefSchema, true);
    return c.json(certJson(await ctx.revocation.suspend({ serial: c.req.param('serial'), issuerId: b.issuerId }, actor(c))));
  });

  api.post('/certificates/:serial/reinstate', revocationRoute('reinstate'), async (c) => {
    const b = await readBody(c, certRefSchema, true);
    return c.json(certJson(await ctx.revocation.reinstate({ serial: c.req.param('serial'), issuerId: b.issuerId }, actor(c))));
  });
}

async function searchCertificates(k: AdminKit, c: C) {
  const { ctx } = k;
  const q = check(certificateQuerySchema, c.req.query(), 'query');
  const now = new Date();
  const where: SQL[] = [];
  if (q.subject) where.push(ilike(certificates.subject, `%${escapeLike(q.subject)}%`));
  if (q.san) where.push(sanCondition(q.san));
  if (q.serial) {
    let serial: string;
    try {
      serial = normaliseSerial(q.serial);
    } catch (e) {
      throw new BadRequest(`serial: ${(e as Error).message}`, 'serial');
    }
    where.push(eq(certificates.serial, serial));
  }
  if (q.status === 'expired') where.push(lte(certificates.notAfter, now));
  else if (q.status === 'valid') where.push(eq(certificates.status, 'valid'), gt(certificates.notAfter, now));
  else if (q.status) where.push(eq(certificates.status, q.status));
  if (q.profile) where.push(eq(certificates.profile, q.profile));
  if (q.issuer) where.push(eq(certificates.issuerId, q.issuer));
  if (q.expiresBefore) where.push(lte(certificates.notAfter, q.expiresBefore));
  if (q.expiresAfter) where.push(gt(certificates.notAfter, q.expiresAfter));
  const cond = where.length ? and(...where) : undefined;
  const [rows, [{ n }]] = await Promise.all([
    ctx.db.select().from(certificates).where(cond).orderBy(desc(certificates.createdAt), desc(certificates.id)).limit(q.limit).offset(q.offset),
    ctx.db.select({ n: count() }).from(certificates).where(cond),
  ]);
  return c.json({ total: Number(n), limit: q.limit, offset: q.offset, items: rows.map((r) => (q.pem === 'true' ? { ...certJson(r), pem: toPem(r.der, 'CERTIFICATE') } : certJson(r))) });
}

async function issueCertificate(k: AdminKit, c: C) {
  const { ctx } = k;
  const b = await readBody(c, issueSchema);
  const op = operatorOf(c);
  const req: EnrollmentRequest = {
    principal: { id: `operator:${op.name}`, protocol: 'admin', authenticatedBy: 'bearer-token' },
    profile: b.profile,
    key: { kind: 'csr', der: csrBytes(b.csr) },
    subject: b.subject,
    sans: b.sans?.map(toIdentifier),
    validity: toValidity(b.validity),
    idempotencyKey: b.idempotencyKey,
    issuerId: b.issuerId,
    metadata: { requestId: c.get('requestId') },
  };
  const result = await ctx.pipeline.issue(req);
  const body = await resultJson(ctx, result);
  if (result.status === 'issued') return c.json(body, result.replayed ? 200 : 201);
  if (result.status === 'pending') {
    c.header('Location', `/api/v1/requests/${result.requestId}`);
    return c.json(body, 202);
  }
  return c.json(body, 200);
}

function csrBytes(csr: string): Buffer {
  const t = csr.trim();
  if (t.startsWith('-----BEGIN')) return Buffer.from(t, 'latin1');
  const b64 = t.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new BadRequest('csr: expected a PEM or base64 DER PKCS#10 request', 'csr');
  return Buffer.from(b64, 'base64');
}

function toIdentifier(s: string | { type: Identifier['type']; value: string }): Identifier {
  if (typeof s !== 'string') return s;
  const i = s.indexOf(':');
  return { type: s.slice(0, i) as Identifier['type'], value: s.slice(i + 1) };
}

function toValidity(v: z.output<typeof issueSchema>['validity']): ValidityRequest | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string' || typeof v === 'number') return { duration: v };
  return v;
}

const sanTypes = ['dns', 'ip', 'email', 'uri'] as const;

/** `type:value` matches that SAN exactly; a bare value matches it under any SAN type. */
function sanCondition(s: string): SQL {
  const m = /^(dns|ip|email|uri):(.+)$/i.exec(s);
  if (m) {
    const type = m[1].toLowerCase();
    return arrayContains(certificates.sans, [`${type}:${type === 'dns' ? m[2].toLowerCase() : m[2]}`]);
  }
  const values = new Set<string>();
  for (const t of sanTypes) values.add(`${t}:${s}`);
  values.add(`dns:${s.toLowerCase()}`);
  return arrayOverlaps(certificates.sans, [...values]);
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (m) => '\\' + m);
}
