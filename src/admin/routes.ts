/**
 * The admin REST API (mounted at /api/v1): issuers, profiles, certificates, revocation, manual
 * approval, CRLs, audit, operators and tokens. Bearer JWTs from `ctx.tokens`; least-privilege
 * roles (auditor reads; officer also issues and revokes; administrator does everything). Every
 * body and query is validated with the schemas in openapi.ts, which also describe the API.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { and, arrayContains, arrayOverlaps, count, desc, eq, gt, ilike, lte, type SQL } from 'drizzle-orm';
import { Hono, type Context as HonoContext, type MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { issuerUrls, type Issuer } from '../ca/issuer.ts';
import { keySpecFor } from '../ca/keys.ts';
import type { Context } from '../context.ts';
import { certificates, crls, pendingRequests, principals } from '../db/schema.ts';
import { jsonError } from '../http/errors.ts';
import { roleGuard } from '../http/require-role.ts';
import { BadRequest, Conflict, NotFound } from '../issuance/errors.ts';
import type { EnrollmentRequest, Identifier, IssuanceResult, ValidityRequest } from '../issuance/request.ts';
import { normaliseSerial } from '../issuance/revocation.ts';
import { parseCertificate } from '../pki/certificate.ts';
import { children, decodeInteger, readTlv, Tag } from '../pki/der.ts';
import { decodeName, formatName, parseDn, toEncodedAttributes, type EncodedAttribute } from '../pki/name.ts';
import { ext as extOid, revocationReasons } from '../pki/oids.ts';
import { fromPem, toPem } from '../pki/pem.ts';
import type { AppEnv } from '../http/app-env.ts';
import {
  auditQuerySchema,
  certificateQuerySchema,
  certRefSchema,
  issueSchema,
  issuerCreateSchema,
  issuerImportSchema,
  issuerPatchSchema,
  openApiDocument,
  type OpenApiFragment,
  operatorCreateSchema,
  rejectSchema,
  requestQuerySchema,
  revokeSchema,
  tokenCreateSchema,
} from './openapi.ts';
import type { Operator } from './tokens.ts';
import { parseClientJson, readRawBody } from '../http/body.ts';

type C = HonoContext<AppEnv>;
type CertRow = typeof certificates.$inferSelect;

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function adminRoutes(ctx: Context, fragments: OpenApiFragment[] = []): Hono<AppEnv> {
  const api = new Hono<AppEnv>();
  api.onError((e, c) => jsonError(c, e, (err) => ctx.log.error({ err, reqId: c.get('requestId') }, 'admin API error')));

  // The contract: no authentication, so clients can discover the API.
  api.get('/openapi.json', (c) => c.json(openApiDocument(ctx.config.publicUrl, fragments)));

  /**
   * Authentication and least privilege in one guard per route: a valid bearer token of an
   * enabled operator (else 401 with a Bearer challenge), whose role is at least `role` (else
   * 403). The same guard (src/http/require-role.ts) protects every protocol's admin router.
   */
  const need = roleGuard((token) => ctx.tokens.verify(token));

  const actor = (c: C) => `operator:${operatorOf(c).name}`;
  const audit = (c: C, action: string, target: string, details?: Record<string, unknown>) =>
    ctx.audit.record({ actor: actor(c), action, target, details, requestId: c.get('requestId') });

  // ── issuers ───────────────────────────────────────────────────────────────────────────────

  const issuerJson = (i: Issuer, detail = false) => ({
    id: i.id,
    name: i.name,
    parentId: i.parentId,
    subject: i.subject,
    keyAlgorithm: i.signer.keyAlgorithm,
    notBefore: i.notBefore,
    notAfter: i.notAfter,
    status: i.status,
    isDefault: i.isDefault,
    isRoot: i.isRoot,
    pathLength: pathLengthOf(i.certDer) ?? null,
    // Only the documented CRL settings: `ocsp` may hold responder material.
    options: pick(i.options as Record<string, unknown>, ['crlValidityHours', 'deltaCrlHours', 'crlPartitions']),
    fingerprintSha256: fingerprint(i.certDer),
    urls: issuerUrls(ctx.config.publicUrl, i.id),
    certificatePem: toPem(i.certDer, 'CERTIFICATE'),
    ...(detail ? { chainPem: i.chain.map((d) => toPem(d, 'CERTIFICATE')).join('') } : {}),
  });

  const requireIssuer = async (id: string) => {
    const i = await ctx.issuers.get(id);
    if (!i) throw new NotFound(`no issuer "${id}"`);
    return i;
  };

  const assertIssuerFree = async (id: string, name: string) => {
    if (await ctx.issuers.get(id)) throw new Conflict(`issuer "${id}" already exists`);
    if (ctx.issuers.list().some((i) => i.name === name)) throw new Conflict(`an issuer named "${name}" already exists`);
  };

  api.get('/issuers', need('auditor', 'list issuers'), async (c) => {
    await ctx.issuers.load();
    return c.json(ctx.issuers.list().map((i) => issuerJson(i)));
  });

  api.get('/issuers/:id', need('auditor', 'read issuers'), async (c) => c.json(issuerJson(await requireIssuer(c.req.param('id')), true)));

  api.post('/issuers', need('administrator', 'create issuers'), async (c) => {
    const b = await readBody(c, issuerCreateSchema);
    await assertIssuerFree(b.id, b.name);
    let pathLength = b.pathLength;
    if (b.parentId) {
      const parent = await ctx.issuers.get(b.parentId);
      if (!parent) throw new BadRequest(`parentId: no issuer "${b.parentId}"`, 'parentId');
      if (parent.status !== 'active') throw new Conflict(`parent issuer "${parent.id}" is retired`);
      const max = pathLengthOf(parent.certDer);
      if (max === 0) throw new BadRequest(`parentId: issuer "${parent.id}" has pathLength 0 and cannot sign CA certificates`, 'parentId');
      if (max !== undefined) {
        if (pathLength !== undefined && pathLength >= max) {
          throw new BadRequest(`pathLength: must be less than the parent's pathLength ${max}`, 'pathLength');
        }
        pathLength ??= max - 1;
      }
    }
    let subject: EncodedAttribute[] | undefined;
    if (b.subject) {
      try {
        subject = toEncodedAttributes(parseDn(b.subject));
      } catch (e) {
        throw new BadRequest(`subject: ${(e as Error).message}`, 'subject');
      }
    }
    const created = await conflictOnDuplicate(
      () =>
        ctx.issuers.create({
          id: b.id,
          name: b.name,
          subject,
          key: keySpecFor(b.keyType),
          parentId: b.parentId,
          validityDays: b.validityDays,
          pathLength,
          isDefault: b.default ?? false,
        }),
      `issuer "${b.id}" (or its name) already exists`,
    );
    await audit(c, 'issuer.create', created.id, { parentId: b.parentId ?? null, keyType: b.keyType, validityDays: b.validityDays, pathLength, default: created.isDefault });
    return c.json(issuerJson(created, true), 201);
  });

  api.post('/issuers/import', need('administrator', 'import issuers'), async (c) => {
    const b = await readBody(c, issuerImportSchema);
    let der: Buffer;
    let parsed;
    try {
      const blocks = fromPem(b.certificatePem, 'CERTIFICATE');
      if (blocks.length === 0) throw new Error('no block');
      der = blocks[0];
      parsed = parseCertificate(der);
    } catch {
      throw new BadRequest('certificatePem: not a PEM X.509 certificate', 'certificatePem');
    }
    if (!parsed.isCa) throw new BadRequest('certificatePem: not a CA certificate (basicConstraints cA is not true)', 'certificatePem');
    let key: KeyObject;
    try {
      // Never echo the parser's message: it must not hint at the key's content.
      key = createPrivateKey({ key: b.privateKeyPem, format: 'pem' });
    } catch {
      throw new BadRequest('privateKeyPem: not an unencrypted PEM private key', 'privateKeyPem');
    }
    if (!createPublicKey(key).export({ format: 'der', type: 'spki' }).equals(Buffer.from(parsed.spki))) {
      throw new BadRequest('privateKeyPem: the private key does not match the certificate', 'privateKeyPem');
    }
    const x509 = new X509Certificate(der);
    if (b.parentId) {
      const parent = await ctx.issuers.get(b.parentId);
      if (!parent) throw new BadRequest(`parentId: no issuer "${b.parentId}"`, 'parentId');
      if (!x509.verify(parent.signer.publicKey)) {
        throw new BadRequest(`certificatePem: not signed by issuer "${parent.id}"`, 'certificatePem');
      }
    }
    await assertIssuerFree(b.id, b.name ?? formatName(decodeName(parsed.subject)));
    // Imported without the default flag, then made default: importIssuer would leave two defaults.
    let imported = await conflictOnDuplicate(
      () => ctx.issuers.importIssuer({ id: b.id, name: b.name, certDer: der, privateKey: key, parentId: b.parentId }),
      `issuer "${b.id}" (or its name) already exists`,
    );
    if (b.default) {
      await ctx.issuers.setDefault(imported.id);
      imported = await requireIssuer(imported.id);
    }
    await audit(c, 'issuer.import', imported.id, { parentId: b.parentId ?? null, subject: imported.subject, fingerprintSha256: fingerprint(der), default: imported.isDefault });
    return c.json(issuerJson(imported, true), 201);
  });

  api.patch('/issuers/:id', need('administrator', 'change issuers'), async (c) => {
    const issuer = await requireIssuer(c.req.param('id'));
    const b = await readBody(c, issuerPatchSchema);
    const { default: makeDefault, ...opts } = b;
    if (Object.keys(b).length === 0) throw new BadRequest('body: nothing to change (crlValidityHours, deltaCrlHours, crlPartitions, default)');
    if (makeDefault && issuer.status !== 'active') throw new Conflict(`issuer "${issuer.id}" is retired and cannot be the default`);
    if (Object.keys(opts).length) await ctx.issuers.updateOptions(issuer.id, { ...issuer.options, ...opts });
    if (makeDefault) await ctx.issuers.setDefault(issuer.id);
    await audit(c, 'issuer.update', issuer.id, b);
    return c.json(issuerJson(await requireIssuer(issuer.id), true));
  });

  // ── profiles ──────────────────────────────────────────────────────────────────────────────

  const profileBody = async (c: C): Promise<Record<string, unknown>> => {
    const raw = await readJson(c, false);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BadRequest('body: expected a JSON object (a profile)');
    const r = raw as Record<string, unknown>;
    if (typeof r.issuer === 'string' && !(await ctx.issuers.get(r.issuer))) throw new BadRequest(`issuer: no issuer "${r.issuer}"`, 'issuer');
    return r;
  };

  api.get('/profiles', need('auditor', 'list profiles'), async (c) => c.json(await ctx.profiles.list()));

  api.get('/profiles/:name', need('auditor', 'read profiles'), async (c) => {
    const name = c.req.param('name');
    const p = (await ctx.profiles.list()).find((x) => x.name === name);
    if (!p) throw new NotFound(`unknown profile "${name}"`);
    return c.json(p);
  });

  api.post('/profiles', need('administrator', 'create profiles'), async (c) => {
    const p = await ctx.profiles.create(await profileBody(c));
    await audit(c, 'profile.create', p.name);
    return c.json({ ...p, builtin: false }, 201);
  });

  api.put('/profiles/:name', need('administrator', 'change profiles'), async (c) => {
    const name = c.req.param('name');
    const body = await profileBody(c);
    if (body.name !== undefined && body.name !== name) throw new BadRequest(`name: "${String(body.name)}" does not match the profile in the URL ("${name}")`, 'name');
    const p = await ctx.profiles.update(name, body);
    await audit(c, 'profile.update', name);
    return c.json(p);
  });

  api.delete('/profiles/:name', need('administrator', 'delete profiles'), async (c) => {
    const name = c.req.param('name');
    await ctx.profiles.delete(name);
    await audit(c, 'profile.delete', name);
    return c.body(null, 204);
  });

  // ── certificates ──────────────────────────────────────────────────────────────────────────

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

  const certById = async (id: string) => {
    const [row] = await ctx.db.select().from(certificates).where(eq(certificates.id, id));
    if (!row) throw new NotFound(`no certificate ${id}`);
    return row;
  };

  const resultJson = async (r: IssuanceResult) => {
    if (r.status === 'issued') {
      return {
        status: r.status,
        replayed: r.replayed,
        certificate: certJson(await certById(r.certificate.id), true),
        chainPem: r.chain.map((d) => toPem(d, 'CERTIFICATE')).join(''),
      };
    }
    if (r.status === 'pending') return { status: r.status, replayed: r.replayed, requestId: r.requestId };
    return { status: r.status, replayed: r.replayed, requestId: r.requestId, reason: r.reason };
  };

  api.get('/certificates', need('auditor', 'search certificates'), async (c) => {
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
    return c.json({ total: Number(n), limit: q.limit, offset: q.offset, items: rows.map((r) => certJson(r)) });
  });

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

  api.post('/certificates', need('officer', 'issue certificates'), async (c) => {
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
    const body = await resultJson(result);
    if (result.status === 'issued') return c.json(body, result.replayed ? 200 : 201);
    if (result.status === 'pending') {
      c.header('Location', `/api/v1/requests/${result.requestId}`);
      return c.json(body, 202);
    }
    return c.json(body, 200);
  });

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

  // ── requests held for approval ─────────────────────────────────────────────────────────────

  api.get('/requests', need('auditor', 'list requests'), async (c) => {
    const q = check(requestQuerySchema, c.req.query(), 'query');
    return c.json(await ctx.pipeline.listRequests(q.status));
  });

  api.get('/requests/:id', need('auditor', 'read requests'), async (c) => {
    const id = c.req.param('id');
    const [row] = await ctx.db.select().from(pendingRequests).where(eq(pendingRequests.id, id));
    if (!row) throw new NotFound(`no request ${id}`);
    const { request: _request, idempotencyKey: _key, ...rest } = row;
    const cert = row.certificateId ? (await ctx.db.select().from(certificates).where(eq(certificates.id, row.certificateId)))[0] : undefined;
    return c.json({ ...rest, ...(cert ? { certificate: certJson(cert, true) } : {}) });
  });

  api.post('/requests/:id/approve', need('officer', 'approve requests'), async (c) => {
    await readJson(c, true);
    return c.json(await resultJson(await ctx.pipeline.approve(c.req.param('id'), actor(c))));
  });

  api.post('/requests/:id/reject', need('officer', 'reject requests'), async (c) => {
    const b = await readBody(c, rejectSchema, true);
    return c.json(await resultJson(await ctx.pipeline.reject(c.req.param('id'), actor(c), b.reason ?? 'rejected by an officer')));
  });

  // ── CRLs ──────────────────────────────────────────────────────────────────────────────────

  const crlInfo = async (stored: { issuerId: string; number: number; thisUpdate: Date; nextUpdate: Date }) => {
    const [row] = await ctx.db
      .select({ entries: crls.entries })
      .from(crls)
      .where(and(eq(crls.issuerId, stored.issuerId), eq(crls.number, stored.number), eq(crls.partition, 0)));
    return {
      issuerId: stored.issuerId,
      number: stored.number,
      thisUpdate: stored.thisUpdate,
      nextUpdate: stored.nextUpdate,
      entries: row?.entries ?? 0,
      url: issuerUrls(ctx.config.publicUrl, stored.issuerId).crl,
    };
  };

  api.get('/crl/:issuerId', need('auditor', 'read CRLs'), async (c) => {
    const issuer = await requireIssuer(c.req.param('issuerId'));
    const latest = await ctx.crls.latest(issuer.id);
    if (!latest) throw new NotFound(`no CRL for issuer "${issuer.id}"`);
    return c.json(await crlInfo(latest));
  });

  api.post('/crl/:issuerId/generate', need('officer', 'generate CRLs'), async (c) => {
    const issuer = await requireIssuer(c.req.param('issuerId'));
    const stored = await ctx.crls.regenerate(issuer.id);
    await audit(c, 'crl.generate', issuer.id, { number: stored.number });
    return c.json(await crlInfo(stored));
  });

  // ── audit ─────────────────────────────────────────────────────────────────────────────────

  api.get('/audit', need('auditor', 'read the audit trail'), async (c) => {
    const q = check(auditQuerySchema, c.req.query(), 'query');
    return c.json(await ctx.audit.search(q));
  });

  // ── operators and tokens ──────────────────────────────────────────────────────────────────

  const operatorJson = (r: typeof principals.$inferSelect) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    role: r.role,
    disabled: r.disabled,
    createdAt: r.createdAt,
  });
  const principalByName = async (name: string) => (await ctx.db.select().from(principals).where(eq(principals.name, name)))[0];

  api.get('/operators', need('administrator', 'list operators'), async (c) => c.json((await ctx.tokens.list()).map(operatorJson)));

  api.post('/operators', need('administrator', 'create operators'), async (c) => {
    const b = await readBody(c, operatorCreateSchema);
    if (await principalByName(b.name)) throw new Conflict(`operator "${b.name}" already exists`);
    await ctx.tokens.ensureOperator(b.name, b.role, b.kind);
    await audit(c, 'operator.create', b.name, { role: b.role, kind: b.kind });
    return c.json(operatorJson((await principalByName(b.name))!), 201);
  });

  api.post('/operators/:name/disable', need('administrator', 'disable operators'), async (c) => {
    const name = c.req.param('name');
    await readJson(c, true);
    if (name === operatorOf(c).name) throw new Conflict('an operator cannot disable itself');
    if (!(await ctx.tokens.disable(name))) throw new NotFound(`no operator "${name}"`);
    await audit(c, 'operator.disable', name);
    return c.json(operatorJson((await principalByName(name))!));
  });

  api.post('/tokens', need('administrator', 'create tokens'), async (c) => {
    const b = await readBody(c, tokenCreateSchema);
    const name = b.name ?? `cli-${b.role}-${randomBytes(4).toString('hex')}`;
    const existing = await principalByName(name);
    if (existing?.disabled) throw new Conflict(`operator "${name}" is disabled`);
    if (existing && existing.role !== b.role) throw new Conflict(`operator "${name}" has role ${existing.role}, not ${b.role}`);
    const op = await ctx.tokens.ensureOperator(name, b.role);
    const ttl = b.ttlSeconds ?? ctx.config.adminTokenTtl;
    const token = await ctx.tokens.issue(op, ttl);
    const expiresAt = new Date((Math.floor(Date.now() / 1000) + ttl) * 1000);
    // The token itself never goes into the audit trail.
    await audit(c, 'token.create', name, { role: op.role, ttlSeconds: ttl, created: !existing });
    return c.json({ token, operator: name, role: op.role, expiresAt }, 201);
  });

  return api;
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────────

function operatorOf(c: C): Operator {
  const op = c.get('operator');
  if (!op) throw new Error('admin route reached without an authenticated operator');
  return op;
}


async function readJson(c: C, optional: boolean): Promise<unknown> {
  const text = new TextDecoder().decode(await readRawBody(c));
  if (!text.trim()) {
    if (optional) return {};
    throw new BadRequest('body: a JSON request body is required');
  }
  return parseClientJson(text);
}

async function readBody<S extends z.ZodType>(c: C, schema: S, optional = false): Promise<z.output<S>> {
  return check(schema, await readJson(c, optional), 'body');
}

/** Validates with zod; the 400 message names each offending field. */
function check<S extends z.ZodType>(schema: S, raw: unknown, where: 'body' | 'query'): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const parts = r.error.issues.map((i) => {
    const path = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') return `${path ? path + ': ' : ''}unknown field ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    if (i.code === 'invalid_union' && path) return `${path}: invalid value`;
    return `${path || where}: ${i.message}`;
  });
  const first = r.error.issues[0];
  const rule = first?.code === 'unrecognized_keys' ? first.keys[0] : first?.path.map(String).join('.');
  throw new BadRequest(parts.join('; '), rule || undefined);
}

function certJson(row: CertRow, detail = false) {
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

/** pathLenConstraint of a CA certificate, or undefined when it has none. */
function pathLengthOf(der: Uint8Array): number | undefined {
  const bc = parseCertificate(der).extensions.find((e) => e.oid === extOid.basicConstraints);
  if (!bc) return undefined;
  const v = bc.value;
  const s = readTlv(v, 0);
  for (const t of children(v, s.start, s.end)) if (t.tag === Tag.INTEGER) return Number(decodeInteger(v, t.start, t.end));
  return undefined;
}

function fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

async function conflictOnDuplicate<T>(fn: () => Promise<T>, message: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const code = (e as { code?: string; cause?: { code?: string } }).code ?? (e as { cause?: { code?: string } }).cause?.code;
    if (code === '23505') throw new Conflict(message);
    throw e;
  }
}
