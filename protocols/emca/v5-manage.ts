/**
 * emCA REST API V5: CA Management and OCSP Management, under `/emca/v5` with the V5 token (the
 * client's role decides: auditor reads, officer changes CRL and OCSP settings and responder
 * certificates, administrator creates and imports CAs).
 *
 *   GET  /emca/v5/cas/{id}                      a CA: certificate, status, CRL settings, latest CRL (auditor)
 *   POST /emca/v5/cas                           createCA: root or subordinate, key generated (administrator)
 *   POST /emca/v5/cas/import                    importCertificate: a CA certificate and its key (administrator)
 *   GET  /emca/v5/cas/{id}/crl                  getCrl: the latest complete CRL, DER base64 (auditor)
 *   PUT  /emca/v5/cas/{id}/crl-settings         createorupdateCRL: validity, delta CRLs, partitions (officer)
 *   GET  /emca/v5/ocsp/cas/{id}                 who signs the CA's OCSP answers, settings, active responder (auditor)
 *   PUT  /emca/v5/ocsp/cas/{id}/settings        response validity, caching, nonce, signing mode (officer)
 *   GET  /emca/v5/ocsp/responders[?caId=]       responder certificates (auditor)
 *   POST /emca/v5/ocsp/responders               create one for {caId} and map it (officer)
 *   GET  /emca/v5/ocsp/responders/{id}          one (auditor)
 *   POST /emca/v5/ocsp/responders/{id}/rotate   a new one for the same CA replaces it (officer)
 *   POST /emca/v5/ocsp/responders/{id}/map      make it its CA's responder again (officer)
 *   POST /emca/v5/ocsp/responders/{id}/revoke   {reason, replace} (officer)
 *
 * CA changes go through the seam's issuerAdmin (the admin API's checks and audit); responders
 * through the OCSP protocol's `ocsp.responders` service. The actor in the audit log is the client.
 */
import type { Context as HonoContext, Hono } from 'hono';
import type { IssuerView, ProtocolContext } from '../../src/protocol-context.ts';
import { toPem } from '../../src/pki/pem.ts';
import { roleAtLeast, type EmcaRole } from './clients.ts';
import { EmcaFailure, M } from './messages.ts';
import type { Caller } from './service.ts';
import { fail, json, optStr, str, type V5Env } from './v5.ts';

const roleMessage: Record<Exclude<EmcaRole, 'client'>, string> = {
  auditor: M.roleAuditor,
  officer: M.roleOfficer,
  administrator: M.roleAdministrator,
};

function caJson(i: IssuerView) {
  return {
    id: i.id,
    name: i.name,
    subject: i.subject,
    parentId: i.parentId ?? null,
    isRoot: i.isRoot,
    isDefault: i.isDefault,
    status: i.status,
    expired: i.notAfter.getTime() <= Date.now(),
    keyAlgorithm: i.keyAlgorithm,
    notBefore: i.notBefore.toISOString(),
    notAfter: i.notAfter.toISOString(),
    certificate: i.certDer.toString('base64'),
    certificatePem: toPem(i.certDer, 'CERTIFICATE'),
  };
}

const num = (b: Record<string, unknown>, k: string): number | undefined => {
  const v = b[k.toLowerCase()];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new EmcaFailure(M.invalidParameter);
  return n;
};
const bool = (b: Record<string, unknown>, k: string): boolean | undefined => {
  const v = b[k.toLowerCase()];
  return v === undefined ? undefined : v === true || v === 'true';
};
/** The body's keys as sent (json() lower-cases them): settings are passed on with their own names. */
const pick = (b: Record<string, unknown>, names: string[]) => Object.fromEntries(names.filter((n) => b[n.toLowerCase()] !== undefined).map((n) => [n, b[n.toLowerCase()]]));

type Route = (role: Exclude<EmcaRole, 'client'>, fn: (c: HonoContext<V5Env>, caller: Caller) => Promise<Response>) => (c: HonoContext<V5Env>) => Promise<Response>;

/** What both groups of routes share: the role gate with emCA's failure answer, CA lookup, the OCSP service. */
interface Kit {
  route: Route;
  ca(id: string): Promise<NonNullable<Awaited<ReturnType<ProtocolContext['issuers']['get']>>>>;
  ocsp(): NonNullable<ReturnType<ProtocolContext['services']['get']>>;
}

const actor = (caller: Caller) => caller.principal.id;

function kit(ctx: ProtocolContext): Kit {
  return {
    route: (role, fn) => async (c) => {
      const caller = c.get('emcaCaller')!;
      try {
        if (!roleAtLeast(caller.client.role, role)) throw new EmcaFailure(roleMessage[role], 403);
        return await fn(c, caller);
      } catch (e) {
        return fail(c, e, ctx);
      }
    },
    async ca(id) {
      const i = await ctx.issuers.get(id);
      if (!i) throw new EmcaFailure(M.invalidCaName, 404);
      return i;
    },
    ocsp() {
      const s = ctx.services.get('ocsp.responders');
      if (!s) throw new EmcaFailure(M.ocspUnavailable, 503);
      return s;
    },
  };
}

export function mountV5Manage(app: Hono<V5Env>, ctx: ProtocolContext): void {
  const k = kit(ctx);
  mountCaManagement(app, ctx, k);
  mountOcspManagement(app, k);
}

/** CA Management: status, createCA, importCertificate, getCrl, CRL settings. */
function mountCaManagement(app: Hono<V5Env>, ctx: ProtocolContext, { route, ca }: Kit): void {
  app.get(
    '/emca/v5/cas/:id',
    route('auditor', async (c) => {
      const i = await ca(c.req.param('id')!);
      const crl = await ctx.crls.latest(i.id);
      return c.json({
        status: 'success',
        ca: caJson(i),
        crlSettings: await ctx.issuerAdmin.crlSettings(i.id),
        crl: crl ? { number: crl.number, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate.toISOString(), url: `${ctx.config.publicUrl}/crl/${i.id}.crl` } : null,
      });
    }),
  );
  app.post(
    '/emca/v5/cas',
    route('administrator', async (c, caller) => {
      const b = await json(c);
      const created = await ctx.issuerAdmin.create(
        {
          id: str(b, 'id'),
          name: str(b, 'name'),
          subject: optStr(b, 'subject'),
          parentId: optStr(b, 'parentId'),
          keyType: (optStr(b, 'keyType') ?? 'ec-p256').toLowerCase() as never,
          validityDays: num(b, 'validityDays') ?? 3650,
          pathLength: num(b, 'pathLength'),
          default: bool(b, 'default'),
        },
        actor(caller),
      );
      return c.json({ status: 'success', ca: caJson(created) }, 201);
    }),
  );
  app.post(
    '/emca/v5/cas/import',
    route('administrator', async (c, caller) => {
      const b = await json(c);
      const imported = await ctx.issuerAdmin.import(
        { id: str(b, 'id'), name: optStr(b, 'name'), certificatePem: str(b, 'certificatePem'), privateKeyPem: str(b, 'privateKeyPem'), parentId: optStr(b, 'parentId'), default: bool(b, 'default') },
        actor(caller),
      );
      return c.json({ status: 'success', ca: caJson(imported) }, 201);
    }),
  );
  app.get(
    '/emca/v5/cas/:id/crl',
    route('auditor', async (c) => {
      const i = await ca(c.req.param('id')!);
      const crl = await ctx.crls.latest(i.id);
      if (!crl) throw new EmcaFailure(M.notFound, 404);
      return c.json({ status: 'success', caId: i.id, number: crl.number, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate.toISOString(), crl: crl.der.toString('base64') });
    }),
  );
  app.put(
    '/emca/v5/cas/:id/crl-settings',
    route('officer', async (c, caller) => {
      const i = await ca(c.req.param('id')!);
      const b = await json(c);
      const patch = { crlValidityHours: num(b, 'crlValidityHours'), deltaCrlHours: num(b, 'deltaCrlHours'), crlPartitions: num(b, 'crlPartitions') };
      const settings = await ctx.issuerAdmin.updateCrlSettings(i.id, Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)), actor(caller));
      return c.json({ status: 'success', caId: i.id, crlSettings: settings });
    }),
  );
}

/** OCSP Management: per-CA settings and responder certificates (create, rotate, map, revoke), through the OCSP protocol's service. */
function mountOcspManagement(app: Hono<V5Env>, { route, ca, ocsp }: Kit): void {
  app.get('/emca/v5/ocsp/cas/:id', route('auditor', async (c) => c.json({ status: 'success', ...(await ocsp().status((await ca(c.req.param('id')!)).id)) })));
  app.put(
    '/emca/v5/ocsp/cas/:id/settings',
    route('officer', async (c, caller) => {
      const i = await ca(c.req.param('id')!);
      const b = await json(c);
      const names = ['signing', 'validitySeconds', 'refreshFraction', 'maxAgeSeconds', 'nonce', 'responderValidityDays', 'rotateFraction', 'responderKey'];
      return c.json({ status: 'success', caId: i.id, settings: await ocsp().updateSettings(i.id, pick(b, names), actor(caller)) });
    }),
  );
  app.get(
    '/emca/v5/ocsp/responders',
    route('auditor', async (c) => {
      const caId = c.req.query('caId');
      return c.json({ status: 'success', responders: await ocsp().list(caId ? (await ca(caId)).id : undefined) });
    }),
  );
  app.post(
    '/emca/v5/ocsp/responders',
    route('officer', async (c, caller) => {
      const b = await json(c);
      const i = await ca(str(b, 'caId'));
      return c.json({ status: 'success', responder: await ocsp().create(i.id, actor(caller), { validityDays: num(b, 'validityDays') }) }, 201);
    }),
  );
  app.get('/emca/v5/ocsp/responders/:rid', route('auditor', async (c) => c.json({ status: 'success', responder: await ocsp().get(c.req.param('rid')!) })));
  app.post(
    '/emca/v5/ocsp/responders/:rid/rotate',
    route('officer', async (c, caller) => {
      const old = await ocsp().get(c.req.param('rid')!);
      return c.json({ status: 'success', replaced: old.id, responder: await ocsp().create(old.issuerId, actor(caller)) }, 201);
    }),
  );
  app.post('/emca/v5/ocsp/responders/:rid/map', route('officer', async (c, caller) => c.json({ status: 'success', responder: await ocsp().map(c.req.param('rid')!, actor(caller)) })));
  app.post(
    '/emca/v5/ocsp/responders/:rid/revoke',
    route('officer', async (c, caller) => {
      const b = await json(c).catch(() => ({}) as Record<string, unknown>);
      const reason = b['reason'] ?? b['revokemode'];
      const r = await ocsp().revoke(c.req.param('rid')!, actor(caller), typeof reason === 'string' || typeof reason === 'number' ? reason : undefined, bool(b, 'replace') ?? false);
      return c.json({ status: 'success', result: M.revoked, responder: r.revoked, replacement: r.replacement ?? null });
    }),
  );
}
