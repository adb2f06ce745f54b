/**
 * INTERIM: a ProtocolContext built from the core Context, holding only what the EST adapter uses,
 * until the seam helper's implementation lands in main. Delete this file at that merge and pass
 * the real ProtocolContext to protocols/est (its mount already accepts either).
 *
 * Members EST does not use throw "not in the interim seam" rather than pretending to work.
 */
import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { eq } from 'drizzle-orm';
import { Hono, type Context as HonoContext, type MiddlewareHandler } from 'hono';
import type { Issuer } from './ca/issuer.ts';
import { seal, unseal } from './ca/seal.ts';
import type { Context } from './context.ts';
import { certificates } from './db/schema.ts';
import { BadRequest } from './issuance/errors.ts';
import { parseCertificate } from './pki/certificate.ts';
import type { AppEnv } from './protocol.ts';
import type { CertificateRecord, IssuerView, ProtocolAppEnv, ProtocolContext } from './protocol-context.ts';

type Row = typeof certificates.$inferSelect;

function record(r: Row): CertificateRecord {
  return {
    id: r.id,
    issuerId: r.issuerId,
    serial: r.serial,
    der: r.der,
    subject: r.subject,
    sans: r.sans.map((s) => {
      const i = s.indexOf(':');
      return { type: s.slice(0, i) as 'dns', value: s.slice(i + 1) };
    }),
    notBefore: r.notBefore,
    notAfter: r.notAfter,
    profile: r.profile,
    status: r.status as CertificateRecord['status'],
    revokedAt: r.revokedAt ?? undefined,
    revocationReason: r.revocationReason ?? undefined,
    protocol: r.protocol,
    principalId: r.principal,
    spkiSha256: r.spkiSha256,
    metadata: r.metadata as Record<string, unknown>,
  };
}

function view(i: Issuer): IssuerView {
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
    keyAlgorithm: '',
    keyRef: i.id,
  };
}

function socketOf(c: HonoContext): TLSSocket | undefined {
  const s = (c.env as { incoming?: { socket?: TLSSocket } } | undefined)?.incoming?.socket;
  return s && (s as TLSSocket).encrypted ? s : undefined;
}

const absent = (what: string) =>
  new Proxy({}, { get: (_t, p) => { throw new Error(`${what}.${String(p)} is not in the interim seam`); } });

export function interimProtocolContext(ctx: Context, app: Hono<AppEnv>, name: string): ProtocolContext {
  const { kek: _kek, ...config } = ctx.config as Context['config'] & { kek?: unknown };
  let admin: Hono<ProtocolAppEnv> | undefined;
  return {
    name,
    config,
    log: ctx.log.child({ protocol: name }),
    metrics: ctx.metrics,
    audit: ctx.audit,
    events: absent('events') as ProtocolContext['events'],
    pipeline: {
      issue: (req) => ctx.pipeline.issue(req),
      getRequest: (id) => ctx.pipeline.getRequest(id),
      onPersist: () => {
        throw new Error('pipeline.onPersist is not in the interim seam');
      },
    },
    revocation: absent('revocation') as ProtocolContext['revocation'],
    certificates: {
      async byDer(der) {
        const spki = parseCertificate(der).spki;
        const hash = createHash('sha256').update(spki).digest('hex');
        const rows = await ctx.db.select().from(certificates).where(eq(certificates.spkiSha256, hash));
        const r = rows.find((x) => Buffer.from(x.der).equals(Buffer.from(der)));
        return r && record(r);
      },
      async byId(id) {
        const [r] = await ctx.db.select().from(certificates).where(eq(certificates.id, id));
        return r && record(r);
      },
      bySerial: () => Promise.reject(new Error('certificates.bySerial is not in the interim seam')),
      byIdempotencyKey: () => Promise.reject(new Error('certificates.byIdempotencyKey is not in the interim seam')),
    },
    issuers: {
      get: async (id) => {
        const i = await ctx.issuers.get(id);
        return i && view(i);
      },
      list: () => ctx.issuers.list().map(view),
      default: () => {
        const i = ctx.issuers.defaultIssuer();
        return i && view(i);
      },
      async issuerOf(certDer) {
        const c = parseCertificate(certDer);
        const { X509Certificate } = await import('node:crypto');
        const x = new X509Certificate(Buffer.from(certDer));
        for (const i of ctx.issuers.list()) {
          if (!i.subjectDer.equals(Buffer.from(c.issuer))) continue;
          if (x.verify(new X509Certificate(i.certDer).publicKey)) return view(i);
        }
        return undefined;
      },
    },
    profiles: { get: (n) => ctx.profiles.get(n), list: () => ctx.profiles.list() },
    keys: {
      async forIssuer(issuerId) {
        const i = await ctx.issuers.get(issuerId);
        if (!i) throw new Error(`unknown issuer ${issuerId}`);
        return { keyRef: i.id, signer: i.signer };
      },
      serviceIdentity: () => Promise.reject(new Error('keys.serviceIdentity is not in the interim seam')),
    },
    secrets: {
      seal: (purpose, plaintext) => seal(ctx.kek, plaintext, `${name}:${purpose}`),
      unseal: (purpose, sealed) => unseal(ctx.kek, sealed, `${name}:${purpose}`),
    },
    store: {
      kind: ctx.database.kind,
      db: ctx.db,
      query: ctx.database.query,
      withLock: ctx.database.withLock,
      transaction: (fn) => ctx.db.transaction(fn),
    },
    http: {
      clientAddress: (c) => (c.env as { incoming?: { socket?: { remoteAddress?: string } } }).incoming?.socket?.remoteAddress ?? '',
      jsonBody: async (c) => c.req.json(),
      async rawBody(c, maxBytes = ctx.config.bodyLimit) {
        if (Number(c.req.header('content-length') ?? NaN) > maxBytes) throw new BadRequest(`request body larger than ${maxBytes} bytes`);
        let body: Uint8Array;
        try {
          body = new Uint8Array(await c.req.arrayBuffer());
        } catch {
          throw new BadRequest('the request body could not be read');
        }
        if (body.length > maxBytes) throw new BadRequest(`request body larger than ${maxBytes} bytes`);
        return body;
      },
      requireRole: (role) => {
        const rank = { auditor: 0, officer: 1, administrator: 2 } as const;
        const mw: MiddlewareHandler<ProtocolAppEnv> = async (c, next) => {
          const op = c.get('operator');
          if (!op || rank[op.role] < rank[role]) return c.json({ error: 'Forbidden', message: `${role} role required` }, 403);
          return next();
        };
        return mw;
      },
      peerCertificates(c) {
        const s = socketOf(c);
        if (!s) return [];
        const out: Buffer[] = [];
        let cert = s.getPeerCertificate(true);
        while (cert && cert.raw && out.length < 10) {
          out.push(cert.raw);
          if (!cert.issuerCertificate || cert.issuerCertificate === cert) break;
          cert = cert.issuerCertificate;
        }
        return out;
      },
      channelBinding(c) {
        const s = socketOf(c);
        if (!s) return undefined;
        if (s.getProtocol() === 'TLSv1.3') return { type: 'tls-exporter', value: s.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)) };
        // tls-unique: the first Finished message of the handshake — the client's on a full
        // handshake, the server's on a resumed one (RFC 5929 §3.1).
        const v = s.isSessionReused() ? s.getFinished() : s.getPeerFinished();
        return v ? { type: 'tls-unique', value: v } : undefined;
      },
    },
    adminRouter() {
      if (admin) return admin;
      admin = new Hono<ProtocolAppEnv>();
      admin.use('*', async (c, next) => {
        const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
        const op = m ? await ctx.tokens.verify(m[1]) : undefined;
        if (!op) return c.json({ error: 'Unauthorized', message: 'a valid bearer token is required' }, 401);
        c.set('operator', { id: op.id, name: op.name, role: op.role });
        return next();
      });
      // mount, not route: route() copies the routes present now, and the protocol adds its own later.
      app.mount(`/api/v1/${name}`, admin.fetch);
      return admin;
    },
  };
}
