import type { Hono as HonoApp } from 'hono';
import { Hono } from 'hono';
import { seal, unseal } from './ca/seal.ts';
import { ServiceIdentities } from './ca/service-identities.ts';
import type { Issuer } from './ca/issuer.ts';
import type { Context } from './context.ts';
import type { AppEnv } from './http/app-env.ts';
import { jsonError, loggableError } from './http/errors.ts';
import { readJsonBody, readRawBody } from './http/body.ts';
import { clientAddress } from './http/client-address.ts';
import { roleGuard } from './http/require-role.ts';
import { channelBinding, peerCertificates } from './http/tls-peer.ts';
import { CertificateReader } from './issuance/certificate-queries.ts';
import { BadRequest, IssuanceError, NotFound } from './issuance/errors.ts';
import type { IssuerAdmin, IssuerView, ProtocolContext, SecretBox } from './protocol-context.ts';
import type { z } from 'zod';
import { issuerCreateSchema, issuerImportSchema, issuerPatchSchema } from './admin/openapi.ts';
import { createIssuerChecked, crlOptionsOf, importIssuerChecked } from './ca/issuer-admin.ts';
import { createPrivateKey, hkdfSync, X509Certificate } from 'node:crypto';
import { parseCertificate } from './pki/certificate.ts';

/** Each protocol context's admin router, mounted by the server after the protocol's `mount`. */
const adminRouters = new WeakMap<ProtocolContext, HonoApp<AppEnv>>();
/** Service identities per core context (one cache, one in-flight creation per identity). */
const identities = new WeakMap<Context, ServiceIdentities>();
/** Services protocols offer each other, per core context. */
const offered = new WeakMap<Context, Map<string, unknown>>();

/**
 * Builds the seam (src/protocol-context.ts) for the protocol `name` from the core context: every
 * member a narrow view or a delegation. Nothing of the core leaks through: no KEK, no raw core
 * tables, no token service.
 */
export function createProtocolContext(ctx: Context, name: string): ProtocolContext {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new Error(`protocol name "${name}" must be 1-32 of a-z 0-9 -`);
  const { kek: _kek, ...config } = ctx.config;
  const guard = roleGuard((token) => ctx.tokens.verify(token));
  const reader = new CertificateReader(ctx.db);
  let services = identities.get(ctx);
  if (!services) identities.set(ctx, (services = new ServiceIdentities(ctx.db, ctx.keys, ctx.issuers, ctx.pipeline, ctx.profiles)));
  const serviceIdentities = services;
  let shared = offered.get(ctx);
  if (!shared) offered.set(ctx, (shared = new Map()));
  const sharedServices = shared;

  const pctx: ProtocolContext = {
    name,
    config: Object.freeze(config),
    log: ctx.log.child({ protocol: name }),
    metrics: ctx.metrics,
    audit: { record: (r) => ctx.audit.record(r) },
    events: {
      onStatusChange: (fn) => ctx.events.onStatusChange(fn),
      onIssued: (fn) => ctx.events.onIssued(fn),
    },
    pipeline: {
      issue: (req) => ctx.pipeline.issue(req),
      getRequest: (id) => ctx.pipeline.getRequest(id),
      onPersist: (hook) => void ctx.persistHooks.add(name, hook),
      onPersistSql: (key, fragment) => ctx.persistHooks.addSql(name, key, fragment),
    },
    revocation: {
      revoke: (issuerId, serial, reason, actor) => ctx.revocation.revoke({ issuerId, serial }, reason, actor).then(() => {}),
      suspend: (issuerId, serial, actor) => ctx.revocation.suspend({ issuerId, serial }, actor).then(() => {}),
      reinstate: (issuerId, serial, actor) => ctx.revocation.reinstate({ issuerId, serial }, actor).then(() => {}),
      changesSince: (afterId, limit) => ctx.revocation.changesSince(afterId, limit),
      afterChange: (fn) => ctx.revocation.afterChange(() => fn()),
    },
    certificates: reader,
    issuers: {
      get: async (id) => {
        const i = await ctx.issuers.get(id);
        return i && issuerView(i);
      },
      list: () => ctx.issuers.list().map(issuerView),
      default: () => {
        const i = ctx.issuers.defaultIssuer();
        return i && issuerView(i);
      },
      issuerOf: async (certDer) => {
        const i = issuerOf(ctx.issuers.list(), certDer);
        return i && issuerView(i);
      },
      reload: () => ctx.issuers.load(),
    },
    issuerAdmin: issuerAdmin(ctx, name),
    services: {
      provide: (service, impl) => {
        if (!service.startsWith(`${name}.`)) throw new Error(`protocol ${name} cannot offer ${service}`);
        sharedServices.set(service, impl);
      },
      get: (service) => sharedServices.get(service) as never,
    },
    crls: {
      latest: async (issuerId) => {
        const crl = await ctx.crls.latest(issuerId, 0, false);
        return crl && { der: crl.der, number: crl.number, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate };
      },
    },
    profiles: {
      get: (n) => ctx.profiles.get(n),
      list: () => ctx.profiles.list(),
      ensure: async (definition) => {
        if (await ctx.profiles.get(String(definition.name))) return;
        await ctx.profiles.create(definition).catch(async (e) => {
          // Another instance created it first.
          if (!(await ctx.profiles.get(String(definition.name)))) throw e;
        });
      },
    },
    keys: {
      forIssuer: async (issuerId) => {
        const i = await ctx.issuers.get(issuerId);
        if (!i) throw new NotFound(`no issuer "${issuerId}"`);
        return ctx.keys.open(i.keyRef);
      },
      serviceIdentity: (opts) => serviceIdentities.ensure(name, opts),
      generate: (spec, label) => ctx.keys.generate(spec, `${name}:${label}`),
      open: async (keyRef) => {
        if ((await ctx.keys.labelOf(keyRef))?.startsWith(`${name}:`) !== true) throw new IssuanceError('forbidden', `key ${keyRef} is not a key of ${name}`);
        return ctx.keys.open(keyRef);
      },
      adopt: (pkcs8, label) => ctx.keys.keep(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }), `${name}:${label}`),
    },
    crypto: {
      checkSignature: (spki, algorithm, data, signature) => ctx.crypto.checkSignature(spki, algorithm, data, signature),
      macKey: (scheme, secret) => ctx.crypto.macKey(scheme, secret),
      macCheck: (input) => ctx.crypto.macCheck(input),
    },
    secrets: secretBox(ctx.kek, name),
    store: {
      kind: ctx.database.kind,
      db: ctx.db,
      query: (text, params) => ctx.database.query(text, params),
      withLock: (key, fn, wait) => ctx.database.withLock(key, fn, wait),
      transaction: (fn) => ctx.db.transaction(fn),
    },
    http: {
      clientAddress: (c) => clientAddress(c, ctx.config.trustedProxies),
      jsonBody: (c, o) => readJsonBody(c, { maxBytes: o?.maxBytes ?? ctx.config.bodyLimit, maxDepth: o?.maxDepth ?? 32 }),
      rawBody: (c, maxBytes) => readRawBody(c, maxBytes ?? ctx.config.bodyLimit),
      requireRole: (role) => guard(role, `use this ${name} admin route (${role} or above)`),
      peerCertificates,
      channelBinding,
    },
    adminRouter() {
      let router = adminRouters.get(pctx);
      if (!router) {
        router = new Hono<AppEnv>();
        router.onError((e, c) => jsonError(c, e, (err) => pctx.log.error({ err: loggableError(err), reqId: c.get('requestId') }, 'admin API error')));
        // Every route of the router needs an operator's token; routes ask for more with http.requireRole.
        router.use('*', guard('auditor', `use the ${name} admin API`));
        adminRouters.set(pctx, router);
      }
      return router;
    },
  };
  return pctx;
}

/** Mounts the protocol's admin router (if it made one) at `/api/v1/<name>`; after `mount`. */
export function mountAdminRouter(app: HonoApp<AppEnv>, pctx: ProtocolContext): void {
  const router = adminRouters.get(pctx);
  if (router) app.route(`/api/v1/${pctx.name}`, router);
}

/**
 * Seal/unseal under the KEK with purposes in the protocol's namespace: `<name>:<purpose>`. A purpose
 * already written `<name>-…` (what protocols sealed before the seam, still stored) is used as given,
 * so stored secrets keep opening; either way a protocol cannot name another's or the core's purposes.
 */
function secretBox(kek: Buffer, name: string): SecretBox {
  const scoped = (purpose: string) => (purpose.startsWith(`${name}-`) ? purpose : `${name}:${purpose}`);
  return {
    seal: (purpose, plaintext) => seal(kek, plaintext, scoped(purpose)),
    unseal: (purpose, sealed) => unseal(kek, sealed, scoped(purpose)),
    derive: (purpose, length) => Buffer.from(hkdfSync('sha256', kek, Buffer.from(scoped(purpose)), `certgate:${scoped(purpose)}`, length)),
  };
}

/** The seam's CA management: the admin API's checks (src/ca/issuer-admin.ts), zod validation and audit. */
function issuerAdmin(ctx: Context, protocol: string): IssuerAdmin {
  const zodFail = (e: z.ZodError) => new BadRequest(e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  const parse = <T>(schema: z.ZodType<T>, input: unknown): T => {
    const r = schema.safeParse(input);
    if (!r.success) throw zodFail(r.error);
    return r.data;
  };
  const require = async (id: string) => {
    const i = await ctx.issuers.get(id);
    if (!i) throw new NotFound(`no issuer "${id}"`);
    return i;
  };
  const audit = (actor: string, action: string, target: string, details: Record<string, unknown>) =>
    ctx.audit.record({ actor, action, target, details: { ...details, via: protocol } });
  return {
    create: async (input, actor) => {
      const b = parse(issuerCreateSchema, input);
      const created = await createIssuerChecked(ctx.issuers, b);
      await audit(actor, 'issuer.create', created.id, { parentId: b.parentId ?? null, keyType: b.keyType, validityDays: b.validityDays, default: created.isDefault });
      return issuerView(created);
    },
    import: async (input, actor) => {
      const b = parse(issuerImportSchema, input);
      const imported = await importIssuerChecked(ctx.issuers, b);
      await audit(actor, 'issuer.import', imported.id, { parentId: b.parentId ?? null, subject: imported.subject, default: imported.isDefault });
      return issuerView(imported);
    },
    crlSettings: async (issuerId) => crlOptionsOf(await require(issuerId)),
    updateCrlSettings: async (issuerId, patch, actor) => {
      const issuer = await require(issuerId);
      const p = parse(issuerPatchSchema.omit({ default: true, successorId: true }), patch);
      if (Object.keys(p).length === 0) throw new BadRequest('nothing to change (crlValidityHours, deltaCrlHours, crlPartitions)');
      await ctx.issuers.updateOptions(issuer.id, { ...issuer.options, ...p });
      await audit(actor, 'issuer.update', issuer.id, p);
      return crlOptionsOf(await require(issuer.id));
    },
  };
}

function issuerView(i: Issuer): IssuerView {
  return {
    id: i.id,
    name: i.name,
    subject: i.subject,
    certDer: i.certDer,
    chain: i.chain,
    notBefore: i.notBefore,
    notAfter: i.notAfter,
    status: i.status,
    isDefault: i.isDefault,
    isRoot: i.isRoot,
    keyAlgorithm: i.signer.keyAlgorithm,
    keyRef: i.keyRef,
    parentId: i.parentId ?? undefined,
    successorId: i.options.successorId,
  };
}

/** The issuer whose name is the certificate's issuer and whose key verifies its signature. */
function issuerOf(all: Issuer[], certDer: Uint8Array): Issuer | undefined {
  let issuerName: Buffer;
  let x509: X509Certificate;
  try {
    issuerName = Buffer.from(parseCertificate(certDer).issuer);
    x509 = new X509Certificate(Buffer.from(certDer));
  } catch {
    return undefined;
  }
  return all.find((i) => i.subjectDer.equals(issuerName) && x509.verify(i.signer.publicKey));
}
