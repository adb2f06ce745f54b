/**
 * Operator routes under /api/v1/epassport (admin token): authorities, profiles, holders, imports,
 * certificates, offline request processing, Document Signer lists.
 */
import { X509Certificate } from 'node:crypto';
import type { Context as HonoContext } from 'hono';
import { isCvCurveName, type CvCurveName, type TerminalType } from './cvc.ts';
import type { ProtocolAppEnv, ProtocolContext } from '../../src/protocol-context.ts';
import { CmsError, parseSignedData, verifySigner } from '../../src/pki/cms.ts';
import type { Authorities } from './authorities.ts';
import { SpocFailure } from './codes.ts';
import { EpassportError, httpStatusOf } from './errors.ts';
import { parseRequest, type Issuer } from './issue.ts';
import type { HolderRole, Registry } from './registry.ts';
import { epassportDsLists } from './schema.ts';
import type { CertRow, CvStore } from './store.ts';
import { CvcSyntaxError } from './cvc.ts';

type C = HonoContext<ProtocolAppEnv>;

export function certJson(r: CertRow): Record<string, unknown> {
  return { id: r.id, car: r.car, chr: r.chr, role: r.role, terminalType: r.terminalType, origin: r.origin, effective: r.effective.toISOString().slice(0, 10), expiration: r.expiration.toISOString().slice(0, 10), certificate: Buffer.from(r.der).toString('base64') };
}

const actorOf = (c: C) => {
  const op = c.get('operator');
  return op ? `operator:${op.name}` : 'admin';
};

export function mountAdmin(ctx: ProtocolContext, d: { s: CvStore; authorities: Authorities; registry: Registry; issuer: Issuer }): void {
  const admin = ctx.adminRouter();
  const officer = ctx.http.requireRole('officer');
  const administrator = ctx.http.requireRole('administrator');
  const auditor = ctx.http.requireRole('auditor');
  const body = async (c: C): Promise<Record<string, unknown>> => {
    const b = await ctx.http.jsonBody(c, { maxBytes: 512 * 1024 });
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new EpassportError('bad_request', 'the body must be a JSON object');
    return b as Record<string, unknown>;
  };
  const route = (fn: (c: C) => Promise<Response>) => async (c: C) => {
    try {
      return await fn(c);
    } catch (e) {
      if (e instanceof EpassportError) return c.json({ error: e.kind, message: e.message }, httpStatusOf(e.kind));
      if (e instanceof CvcSyntaxError) return c.json({ error: 'bad_request', message: e.message }, 400);
      if (e instanceof SpocFailure) return c.json({ error: e.code, message: e.message }, 422);
      if (e instanceof Error && e.name === 'BadRequest') return c.json({ error: 'bad_request', message: e.message }, 400);
      throw e;
    }
  };

  admin.post('/cvcas', administrator, route(async (c) => {
    const b = await body(c);
    const curve = str(b, 'curve', 'brainpoolP256r1');
    if (!isCvCurveName(curve)) throw new EpassportError('bad_request', 'curve: brainpoolP256r1, brainpoolP384r1, brainpoolP512r1, P-256, P-384 or P-521');
    const row = await d.authorities.createCvca({ chr: str(b, 'chr'), curve, terminalType: terminalType(b), days: days(b, 1095), actor: actorOf(c) });
    return c.json(certJson(row), 201);
  }));
  admin.post('/cvcas/:holder/rollover', administrator, route(async (c) => {
    const b = await body(c);
    const curve = b.curve === undefined ? undefined : str(b, 'curve');
    if (curve !== undefined && !isCvCurveName(curve)) throw new EpassportError('bad_request', 'curve: unknown');
    const r = await d.authorities.rolloverCvca({ holder: c.req.param('holder') ?? '', curve: curve as CvCurveName | undefined, days: days(b, 1095), actor: actorOf(c) });
    return c.json({ link: certJson(r.link), self: certJson(r.self) }, 201);
  }));
  admin.post('/dvs', administrator, route(async (c) => {
    const b = await body(c);
    const role = str(b, 'role', 'dv_domestic');
    if (role !== 'dv_domestic' && role !== 'dv_foreign') throw new EpassportError('bad_request', 'role: dv_domestic or dv_foreign');
    const rights = b.rights === undefined ? undefined : hex(str(b, 'rights'), 'rights');
    const row = await d.authorities.createDv({ chr: str(b, 'chr'), cvca: str(b, 'cvca'), role, rights, days: days(b, 90), actor: actorOf(c) });
    return c.json(certJson(row), 201);
  }));
  admin.get('/authorities', auditor, route(async (c) => c.json({ authorities: (await d.s.authorities()).map((a) => ({ holder: a.holder, kind: a.kind, terminalType: a.terminalType, curve: a.curve })) })));
  mountRegistry(ctx, d, route, body);
}

type Route = (fn: (c: C) => Promise<Response>) => (c: C) => Promise<Response>;

function mountRegistry(ctx: ProtocolContext, d: { s: CvStore; authorities: Authorities; registry: Registry; issuer: Issuer }, route: Route, body: (c: C) => Promise<Record<string, unknown>>): void {
  const admin = ctx.adminRouter();
  const officer = ctx.http.requireRole('officer');
  const administrator = ctx.http.requireRole('administrator');
  const auditor = ctx.http.requireRole('auditor');
  admin.put('/profiles/:name', administrator, route(async (c) => {
    const b = await body(c);
    const role = str(b, 'role') as HolderRole;
    const row = await d.registry.putProfile({ name: c.req.param('name') ?? '', role, terminalType: terminalType(b), chat: str(b, 'chat'), maxValidityDays: days(b, 90, 'maxValidityDays') }, actorOf(c));
    return c.json(row, 200);
  }));
  admin.get('/profiles', auditor, route(async (c) => c.json({ profiles: await d.registry.profiles() })));
  admin.post('/holders', officer, route(async (c) => {
    const b = await body(c);
    const row = await d.registry.register({ holder: str(b, 'holder'), role: str(b, 'role') as HolderRole, authority: str(b, 'authority'), profile: str(b, 'profile'), initialAllowed: b.initialAllowed === true }, actorOf(c));
    return c.json(row, 201);
  }));
  admin.get('/holders', auditor, route(async (c) => c.json({ holders: await d.registry.holders() })));
  admin.post('/certificates/import', administrator, route(async (c) => {
    const b = await body(c);
    return c.json(certJson(await d.authorities.importCertificate(b64(str(b, 'certificate', undefined, 700_000), 'certificate'), actorOf(c))), 201);
  }));
  admin.get('/certificates', auditor, route(async (c) => {
    const chr = c.req.query('chr');
    const rows = chr ? await d.s.byChr(chr) : await d.s.list();
    return c.json({ certificates: rows.map(certJson) });
  }));
  // An operator processes a request file received out of band (same checks as RequestCertificate).
  admin.post('/requests', officer, route(async (c) => {
    const b = await body(c);
    const row = await d.issuer.process(parseRequest(b64(str(b, 'certReq', undefined, 700_000), 'certReq')), actorOf(c));
    return c.json(certJson(row), 201);
  }));
  admin.post('/ds-lists', administrator, route(async (c) => {
    const b = await body(c);
    const der = b64(str(b, 'list', undefined, 700_000), 'list');
    let signer: string;
    let count: number;
    try {
      const sd = parseSignedData(der);
      const v = sd.signers.length === 1 ? verifySigner(sd, 0) : { ok: false, reason: 'exactly one signer expected' };
      if (!v.ok || !v.certDer) throw new EpassportError('bad_request', `the list's signature does not verify (${v.reason ?? 'no signer certificate'})`);
      signer = subjectOf(v.certDer);
      count = sd.certificates.length;
    } catch (e) {
      if (e instanceof CmsError) throw new EpassportError('bad_request', `not a CMS SignedData: ${e.message}`);
      throw e;
    }
    const [row] = await d.s.db.insert(epassportDsLists).values({ der, signerSubject: signer, certificateCount: count, createdBy: actorOf(c) }).returning();
    await ctx.audit.record({ actor: actorOf(c), action: 'epassport.ds-list.store', target: row.id, details: { signer, certificates: count } });
    return c.json({ id: row.id, signer, certificates: count }, 201);
  }));
}

function str(b: Record<string, unknown>, k: string, dflt?: string, max = 256): string {
  const v = b[k] ?? dflt;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new EpassportError('bad_request', `${k}: a string is required`);
  return v;
}

function days(b: Record<string, unknown>, dflt: number, k = 'validityDays'): number {
  const v = b[k] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 3650) throw new EpassportError('bad_request', `${k}: 1 to 3650 days`);
  return v;
}

function terminalType(b: Record<string, unknown>): TerminalType {
  const t = str(b, 'terminalType', 'is').toLowerCase();
  if (t !== 'is' && t !== 'at' && t !== 'st') throw new EpassportError('bad_request', 'terminalType: is, at or st');
  return t;
}

function hex(s: string, k: string): Buffer {
  if (!/^([0-9a-fA-F]{2}){1,8}$/.test(s)) throw new EpassportError('bad_request', `${k}: hex bytes`);
  return Buffer.from(s, 'hex');
}

function b64(s: string, k: string): Buffer {
  if (!/^[A-Za-z0-9+/\s]*={0,2}$/.test(s)) throw new EpassportError('bad_request', `${k}: base64`);
  return Buffer.from(s, 'base64');
}

function subjectOf(certDer: Buffer): string {
  try {
    return new X509Certificate(certDer).subject.replace(/\n/g, ', ');
  } catch {
    return 'unknown';
  }
}
