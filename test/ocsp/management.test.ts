/**
 * OCSP management API (/api/v1/ocsp/...): authentication and roles, responder create / rotate /
 * revoke, per-issuer settings (validity, caching, nonce policy), and freshness across two
 * instances sharing one PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { eq } from 'drizzle-orm';
import { createOcspProtocol } from '../../protocols/ocsp/index.ts';
import { ocspResponders } from '../../protocols/ocsp/schema.ts';
import { seal, unseal } from '../../src/ca/seal.ts';
import { sealedKeys } from '../../src/db/schema.ts';
import { createContext } from '../../src/context.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { fromPem } from '../../src/pki/pem.ts';
import { parseOcspResponse } from '../../src/pki/ocsp-response.ts';
import { startServer } from '../../src/server.ts';
import { drivers, makeTestEnv } from '../support/context.ts';
import { get, makeOcspEnv, openssl, post, requestFor, type OcspEnv } from './helpers.ts';

for (const driver of drivers) {
  describe(`OCSP management API (${driver})`, () => {
    let env: OcspEnv;
    let admin: string;
    let officer: string;
    let auditor: string;
    beforeAll(async () => {
      env = await makeOcspEnv(driver);
      const tk = env.t.ctx.tokens;
      admin = await tk.issue(await tk.ensureOperator('t-admin', 'administrator'), 3600);
      officer = await tk.issue(await tk.ensureOperator('t-officer', 'officer'), 3600);
      auditor = await tk.issue(await tk.ensureOperator('t-auditor', 'auditor'), 3600);
    });
    afterAll(async () => {
      await env?.close();
    });

    const api = async (method: string, path: string, token?: string, body?: unknown) => {
      const r = await fetch(`${env.server.httpUrl}/api/v1${path}`, {
        method,
        headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    };

    it('publishes its OpenAPI fragment', async () => {
      const r = await api('GET', '/ocsp/openapi.json');
      expect(r.status).toBe(200);
      expect(Object.keys(r.body.paths)).toContain('/api/v1/ocsp/issuers/{id}/settings');
      const all = await api('GET', '/openapi.json');
      expect(Object.keys(all.body.paths)).toEqual(expect.arrayContaining(['/ocsp', '/api/v1/ocsp/responders/{rid}/revoke']));
      expect(all.body.components.schemas.OcspSettings).toBeDefined();
    });

    it('requires a valid bearer token; auditors read, officers and administrators write', async () => {
      expect((await api('GET', '/ocsp/issuers')).status).toBe(401);
      expect((await api('GET', '/ocsp/issuers', 'not-a-token')).status).toBe(401);
      const list = await api('GET', '/ocsp/issuers', auditor);
      expect(list.status).toBe(200);
      expect(list.body.issuers.map((i: { issuerId: string }) => i.issuerId).sort()).toEqual(['dev-issuing', 'dev-root']);
      // The responder created at start (auto-provisioning) is active and delegated signing is on.
      const issuing = list.body.issuers.find((i: { issuerId: string }) => i.issuerId === 'dev-issuing');
      expect(issuing.signedBy).toBe('delegated');
      expect(issuing.activeResponder.status).toBe('active');
      const denied = await api('PUT', '/ocsp/issuers/dev-issuing/settings', auditor, { maxAgeSeconds: 60 });
      expect(denied.status).toBe(403);
      expect((await api('POST', '/ocsp/issuers/dev-issuing/responders', auditor, {})).status).toBe(403);
      expect((await api('PUT', '/ocsp/issuers/dev-issuing/settings', officer, { maxAgeSeconds: 1800 })).status).toBe(200);
    });

    it('validates settings and changes nothing on a bad request', async () => {
      const before = (await api('GET', '/ocsp/issuers/dev-issuing', admin)).body.settings;
      for (const bad of [{ signing: 'nobody' }, { validitySeconds: 5 }, { nonce: 'maybe' }, { unknownField: 1 }, '[1,2]', '{not json']) {
        const r = await api('PUT', '/ocsp/issuers/dev-issuing/settings', admin, bad);
        expect(r.status).toBe(400);
        expect(r.body.error).toBe('BadRequest');
      }
      expect((await api('GET', '/ocsp/issuers/dev-issuing', admin)).body.settings).toEqual(before);
      expect((await api('PUT', '/ocsp/issuers/no-such/settings', admin, { maxAgeSeconds: 10 })).status).toBe(404);
    });

    it('response validity and Cache-Control follow the settings', async () => {
      const r = await api('PUT', '/ocsp/issuers/dev-issuing/settings', admin, { validitySeconds: 7200, maxAgeSeconds: 600 });
      expect(r.body.settings.validitySeconds).toBe(7200);
      const leaf = await env.issue();
      const req = requestFor(env.t.ctx.issuers.peek('dev-issuing')!, leaf.serial);
      const res = await get(`${env.url}/${encodeURIComponent(req.toString('base64'))}`);
      const s = parseOcspResponse(res.der).basic!.responses[0];
      expect(s.nextUpdate!.getTime() - s.thisUpdate.getTime()).toBe(7200_000);
      expect(res.headers.get('cache-control')).toMatch(/max-age=(600|599)\b/);
      await api('PUT', '/ocsp/issuers/dev-issuing/settings', admin, { validitySeconds: 86400, maxAgeSeconds: 3600 });
    });

    it('nonce policy "ignore" answers nonce requests from the cache without the nonce', async () => {
      const leaf = await env.issue();
      const req = requestFor(env.t.ctx.issuers.peek('dev-issuing')!, leaf.serial, { nonce: randomBytes(16) });
      expect(parseOcspResponse((await post(env.url, req)).der).basic!.nonce).toBeDefined();
      await api('PUT', '/ocsp/issuers/dev-issuing/settings', admin, { nonce: 'ignore' });
      const a = await post(env.url, req);
      const b = await post(env.url, requestFor(env.t.ctx.issuers.peek('dev-issuing')!, leaf.serial, { nonce: randomBytes(16) }));
      expect(parseOcspResponse(a.der).basic!.nonce).toBeUndefined();
      expect(a.der).toEqual(b.der); // the same pre-signed response
      await api('PUT', '/ocsp/issuers/dev-issuing/settings', admin, { nonce: 'sign' });
    });

    it('rotates the responder: the new one signs, the old one is retired, both stay valid', async () => {
      const leaf = await env.issue();
      const before = (await api('GET', '/ocsp/issuers/dev-issuing', admin)).body.activeResponder;
      const created = await api('POST', '/ocsp/issuers/dev-issuing/responders', officer, { validityDays: 7 });
      expect(created.status).toBe(201);
      expect(created.body.id).not.toBe(before.id);
      const cert = parseCertificate(fromPem(created.body.certificatePem, 'CERTIFICATE')[0]);
      expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBeLessThanOrEqual(7 * 86400_000 + 120_000);
      const list = (await api('GET', '/ocsp/issuers/dev-issuing/responders', auditor)).body.responders;
      expect(list.find((r: { id: string }) => r.id === before.id).status).toBe('retired');
      const res = parseOcspResponse((await post(env.url, requestFor(env.t.ctx.issuers.peek('dev-issuing')!, leaf.serial))).der).basic!;
      expect(Buffer.from(res.certs[0]).equals(fromPem(created.body.certificatePem, 'CERTIFICATE')[0])).toBe(true);
      const o = await openssl(['ocsp', '-issuer', leaf.issuerFile, '-cert', leaf.file, '-url', env.url, '-CAfile', env.rootFile]);
      expect(o.out).toContain('Response verify OK');
    });

    it('a responder created before the key store (its PKCS#8 sealed in its row) still signs: the key moves into the key store', async () => {
      const active = (await api('GET', '/ocsp/issuers/dev-issuing', admin)).body.activeResponder;
      const db = env.t.ctx.db;
      const [row] = await db.select().from(ocspResponders).where(eq(ocspResponders.id, active.id));
      const [stored] = await db.select().from(sealedKeys).where(eq(sealedKeys.keyRef, row.keyRef!));
      expect(stored.label).toBe('ocsp:responder:dev-issuing');
      // As an older version left it: the key sealed in the row under its old purpose, no reference.
      const pkcs8 = unseal(env.t.ctx.kek, stored.sealed, row.keyRef!);
      await db.update(ocspResponders).set({ keyRef: null, keySealed: seal(env.t.ctx.kek, pkcs8, `ocsp-responder-key:${row.id}`) }).where(eq(ocspResponders.id, row.id));
      await env.ocsp.service(env.t.ctx)!.reload(true);
      // Same key signs (the responder certificate verifies the response), and the row now names the key store.
      env.ocsp.service(env.t.ctx)!.flushAll();
      const leaf = await env.issue();
      const o = await openssl(['ocsp', '-issuer', leaf.issuerFile, '-cert', leaf.file, '-url', env.url, '-CAfile', env.rootFile]);
      expect(o.out).toContain('Response verify OK');
      const [after] = await db.select().from(ocspResponders).where(eq(ocspResponders.id, row.id));
      expect(after.keySealed).toBeNull();
      expect(after.keyRef).toMatch(/^sealed:key:/);
      expect(after.keyRef).not.toBe(row.keyRef);
    });

    it('revokes a responder through the revocation service and replaces it', async () => {
      const active = (await api('GET', '/ocsp/issuers/dev-issuing', admin)).body.activeResponder;
      const r = await api('POST', `/ocsp/responders/${active.id}/revoke`, admin, { reason: 'keyCompromise' });
      expect(r.status).toBe(200);
      expect(r.body.revoked.status).toBe('revoked');
      expect(r.body.replacement.status).toBe('active');
      // The revoked responder certificate is revoked in OCSP (asked by serial) and listed in the CRL.
      const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
      const s = parseOcspResponse((await post(env.url, requestFor(issuer, active.serial))).der).basic!;
      expect(s.responses[0].status).toBe('revoked');
      expect(s.responses[0].revocationReason).toBe(1);
      expect(Buffer.from(s.certs[0]).equals(fromPem(r.body.replacement.certificatePem, 'CERTIFICATE')[0])).toBe(true);
      const again = await api('POST', `/ocsp/responders/${active.id}/revoke`, admin, {});
      expect(again.status).toBe(409);
      expect((await api('POST', '/ocsp/responders/nope/revoke', admin, {})).status).toBe(404);
    });
  });
}

describe.runIf(drivers.includes('postgres'))('two instances on one PostgreSQL', () => {
  it('a revocation made by instance B is seen by instance A (NOTIFY, and the revocations poll)', async () => {
    const envA = await makeTestEnv('postgres');
    const ctxA = await createContext(envA.config, { logger: pino({ level: 'silent' }) });
    const ctxB = await createContext(envA.config, { logger: pino({ level: 'silent' }) });
    const ocspA = createOcspProtocol({ settings: { pollMs: 3_600_000 } });
    const ocspB = createOcspProtocol({ settings: { pollMs: 3_600_000, autoProvision: false } });
    const srvA = await startServer(ctxA, [ocspA], { https: false });
    const srvB = await startServer(ctxB, [ocspB], { https: false });
    try {
      const issue = async () => {
        const { generateKeyPairSync, createPublicKey } = await import('node:crypto');
        const kp = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const r = await ctxB.pipeline.issue({
          principal: { id: 'test', protocol: 'internal', authenticatedBy: 'local' },
          profile: 'tls-server',
          key: { kind: 'spki', der: createPublicKey(kp.privateKey).export({ format: 'der', type: 'spki' }), pop: 'verified-by-protocol' },
          sans: [{ type: 'dns', value: `x${randomBytes(3).toString('hex')}.example` }],
        });
        if (r.status !== 'issued') throw new Error('not issued');
        return r.certificate.serial;
      };
      const issuer = ctxA.issuers.peek('dev-issuing')!;
      const statusAtA = async (serial: string) =>
        parseOcspResponse((await post(`${srvA.httpUrl}/ocsp`, requestFor(issuer, serial))).der).basic!.responses[0].status;

      // 1. NOTIFY: A caches good; B revokes; A's cache entry is dropped by the notification.
      const s1 = await issue();
      expect(await statusAtA(s1)).toBe('good');
      expect(await statusAtA(s1)).toBe('good');
      await ctxB.revocation.revoke({ serial: s1 }, 'keyCompromise', 'b');
      await vi.waitFor(async () => expect(await statusAtA(s1)).toBe('revoked'), { timeout: 10_000, interval: 50 });

      // 2. Poll only: stop A listening, B suspends; A's next poll drops the entry.
      const s2 = await issue();
      expect(await statusAtA(s2)).toBe('good');
      await ocspA.service(ctxA)!.stop(); // unlisten (and stop timers): only the explicit poll below remains
      await ctxB.revocation.suspend({ serial: s2 }, 'b');
      expect(await ocspA.service(ctxA)!.pollRevocations()).toBeGreaterThanOrEqual(1);
      expect(await statusAtA(s2)).toBe('revoked');
    } finally {
      await srvA.stop();
      await srvB.stop();
      await ocspA.stop?.();
      await ocspB.stop?.();
      await ctxB.close();
      await ctxA.close();
      await envA.cleanup();
    }
  });
});

describe('pre-signed response cache (pglite)', () => {
  let env: OcspEnv;
  beforeAll(async () => {
    env = await makeOcspEnv('pglite', { cacheEntries: 3 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('stays within its bound and still answers evicted certificates correctly', async () => {
    const svc = env.ocsp.service(env.t.ctx)!;
    const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
    const leaves = [];
    for (let i = 0; i < 5; i++) leaves.push(await env.issue());
    await env.t.ctx.revocation.revoke({ serial: leaves[0].serial }, 'keyCompromise', 'test');
    for (const l of leaves) await post(env.url, requestFor(issuer, l.serial));
    expect(svc.cache.size).toBeLessThanOrEqual(3);
    const first = parseOcspResponse((await post(env.url, requestFor(issuer, leaves[0].serial))).der).basic!.responses[0];
    expect(first.status).toBe('revoked');
    expect(svc.cache.size).toBeLessThanOrEqual(3);
  });

  it('re-signs an entry past its refresh point (new thisUpdate or signature), keeping its status', async () => {
    const svc = env.ocsp.service(env.t.ctx)!;
    const issuer = env.t.ctx.issuers.peek('dev-issuing')!;
    const leaf = await env.issue();
    const req = requestFor(issuer, leaf.serial);
    const a = await post(env.url, req);
    const key = Buffer.from(parseOcspResponse(a.der).basic!.responses[0].certId).toString('latin1');
    const entry = svc.cache.get(key)!;
    expect(entry).toBeDefined();
    entry.refreshAt = Date.now() - 1;
    expect(await svc.refreshDue()).toBeGreaterThanOrEqual(1);
    const next = svc.cache.get(key)!;
    expect(next).not.toBe(entry);
    expect(next.der.equals(entry.der)).toBe(false);
    expect(next.refreshAt).toBeGreaterThan(Date.now());
    const b = await post(env.url, req);
    expect(b.der.equals(next.der)).toBe(true);
    expect(parseOcspResponse(b.der).basic!.responses[0].status).toBe('good');
  });
});
