/**
 * INTERIM (cmp branch): a ProtocolContext built from the core Context, covering what the CMP
 * adapter uses, until the seam helper's implementation lands in main. At merge, replace the one
 * call in protocols/cmp/index.ts with the real factory and delete this file.
 */
import { X509Certificate } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { Hono, type MiddlewareHandler } from 'hono';
import type { Context } from './context.ts';
import { unseal, seal } from './ca/seal.ts';
import type { Issuer } from './ca/issuer.ts';
import { certificates } from './db/schema.ts';
import { BadRequest } from './issuance/errors.ts';
import { rowToIssued } from './issuance/pipeline.ts';
import { parseCertificate } from './pki/certificate.ts';
import type { AppEnv } from './protocol.ts';
import type { CertificateRecord, IssuerView, ProtocolAppEnv, ProtocolContext } from './protocol-context.ts';

const ROLE_RANK = { auditor: 0, officer: 1, administrator: 2 } as const;

function view(i: Issuer): IssuerView {
  return {
    id: i.id, name: i.name, subject: i.subject, certDer: i.certDer, chain: i.chain, notBefore: i.notBefore, notAfter: i.notAfter,
    status: i.status, isDefault: i.isDefault, isRoot: i.isRoot, keyAlgorithm: i.signer.keyAlgorithm, keyRef: `issuer:${i.id}`,
  };
}

function record(row: typeof certificates.$inferSelect): CertificateRecord {
  return {
    ...rowToIssued(row),
    status: row.status as CertificateRecord['status'],
    revokedAt: row.revokedAt ?? undefined,
    revocationReason: row.revocationReason ?? undefined,
    protocol: row.protocol,
    principalId: row.principal,
    spkiSha256: row.spkiSha256,
    metadata: (row.metadata ?? {}) as Record<string, unknown>,
  };
}

const unavailable = (what: string) => () => {
  throw new Error(`${what} is not available in the interim protocol context`);
};

export function interimProtocolContext(app: Hono<AppEnv>, ctx: Context, name: string): ProtocolContext {
  const admin = new Hono<ProtocolAppEnv>().basePath(`/api/v1/${name}`);
  // Dispatched per request, so routes added after adminRouter() returns are seen.
  app.all(`/api/v1/${name}/*`, (c) => admin.fetch(c.req.raw, c.env));
  admin.use('*', async (c, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    const op = m ? await ctx.tokens.verify(m[1]) : undefined;
    if (!op) return c.json({ error: 'Unauthorized', message: 'a valid bearer token is required' }, 401);
    c.set('operator', { id: op.id, name: op.name, role: op.role });
    await next();
  });
  const byDerOrSerial = async (where: ReturnType<typeof eq>) => {
    const [row] = await ctx.db.select().from(certificates).where(where).limit(1);
    return row ? record(row) : undefined;
  };
  return {
    name,
    config: ctx.config,
    log: ctx.log.child({ protocol: name }),
    metrics: ctx.metrics,
    audit: { record: (r) => ctx.audit.record(r) },
    events: { onStatusChange: unavailable('events'), onIssued: unavailable('events') },
    pipeline: {
      issue: (r) => ctx.pipeline.issue(r),
      getRequest: (id) => ctx.pipeline.getRequest(id),
      onPersist: unavailable('pipeline.onPersist'),
    },
    revocation: {
      revoke: async (issuerId, serial, reason, actor) => void (await ctx.revocation.revoke({ issuerId, serial }, reason, actor)),
      suspend: async (issuerId, serial, actor) => void (await ctx.revocation.suspend({ issuerId, serial }, actor)),
      reinstate: async (issuerId, serial, actor) => void (await ctx.revocation.reinstate({ issuerId, serial }, actor)),
    },
    certificates: {
      byId: (id) => byDerOrSerial(eq(certificates.id, id)),
      bySerial: (issuerId, serial) => byDerOrSerial(and(eq(certificates.issuerId, issuerId), eq(certificates.serial, serial))!),
      byDer: async (der) => {
        let serial: string;
        try {
          serial = parseCertificate(der).serialHex;
        } catch {
          return undefined;
        }
        const rows = await ctx.db.select().from(certificates).where(eq(certificates.serial, serial));
        const row = rows.find((r) => Buffer.from(r.der).equals(Buffer.from(der)));
        return row ? record(row) : undefined;
      },
      byIdempotencyKey: unavailable('certificates.byIdempotencyKey'),
    },
    issuers: {
      get: async (id) => {
        const i = await ctx.issuers.get(id);
        return i ? view(i) : undefined;
      },
      list: () => ctx.issuers.list().map(view),
      default: () => {
        const i = ctx.issuers.defaultIssuer();
        return i ? view(i) : undefined;
      },
      issuerOf: async (der) => {
        let cert: X509Certificate;
        try {
          cert = new X509Certificate(Buffer.from(der));
        } catch {
          return undefined;
        }
        for (const i of ctx.issuers.list()) {
          const ca = new X509Certificate(i.certDer);
          if (cert.checkIssued(ca) && cert.verify(ca.publicKey)) return view(i);
        }
        return undefined;
      },
    },
    profiles: { get: (n) => ctx.profiles.get(n), list: () => ctx.profiles.list() },
    keys: {
      forIssuer: async (issuerId) => {
        const i = await ctx.issuers.get(issuerId);
        if (!i) throw new BadRequest(`unknown issuer ${issuerId}`);
        return { keyRef: `issuer:${i.id}`, signer: i.signer };
      },
      serviceIdentity: unavailable('keys.serviceIdentity'),
    },
    secrets: {
      seal: (purpose, plaintext) => seal(ctx.kek, plaintext, `${name}:${purpose}`),
      unseal: (purpose, sealed) => unseal(ctx.kek, sealed, `${name}:${purpose}`),
    },
    store: {
      kind: ctx.database.kind,
      db: ctx.database.db,
      query: ctx.database.query,
      withLock: ctx.database.withLock,
      transaction: (fn) => ctx.db.transaction(fn),
    },
    http: {
      clientAddress: unavailable('http.clientAddress'),
      jsonBody: async (c) => c.req.json(),
      rawBody: async (c, maxBytes) => {
        const b = new Uint8Array(await c.req.arrayBuffer());
        if (maxBytes !== undefined && b.length > maxBytes) throw new BadRequest(`request body larger than ${maxBytes} bytes`);
        return b;
      },
      requireRole: (role): MiddlewareHandler<ProtocolAppEnv> => async (c, next) => {
        const op = c.get('operator');
        if (!op || ROLE_RANK[op.role] < ROLE_RANK[role]) return c.json({ error: 'Forbidden', message: `${role} role required` }, 403);
        await next();
      },
      peerCertificates: () => [],
      channelBinding: () => undefined,
    },
    adminRouter() {
      return admin;
    },
  };
}
