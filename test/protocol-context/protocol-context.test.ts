/**
 * THE SEAM on real parts: a test protocol mounted through ProtocolContext (as the server mounts
 * every protocol) exercises each member on PGlite and PostgreSQL.
 */
import { constants, publicEncrypt, verify, X509Certificate } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seal } from '../../src/ca/seal.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import { IssuanceError } from '../../src/issuance/errors.ts';
import type { ProtocolContext } from '../../src/protocol-context.ts';
import { createProtocolContext } from '../../src/protocol-context-impl.ts';
import type { ProtocolModule } from '../../src/protocol.ts';
import { buildApp } from '../../src/server.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { crlSerialsFromText, crlText, makeCsr, opensslOk, tempDir, writePem } from '../support/openssl.ts';

const rows = <T>(r: unknown) => (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as T[];

describe.each(drivers)('ProtocolContext (%s)', (driver) => {
  let t: TestContext;
  let pctx: ProtocolContext;
  let app: Hono<AppEnv>;
  /** What the onPersist hook saw, and whether it should throw. */
  const seen: { id: string; visibleInTx: number; pending?: string }[] = [];
  let failHook = false;

  // A protocol that uses the seam and nothing else.
  const testProtocol: ProtocolModule = {
    name: 'est',
    async mount(a, p) {
      pctx = p;
      await p.store.query('create table if not exists est_seam_log (certificate_id text primary key)');
      p.pipeline.onPersist(async (tx, persisted) => {
        // The certificate is already in the (uncommitted) transaction the hook runs in.
        const [row] = rows<{ n: number }>(await tx.execute(sql`select count(*)::int as n from certificates where id = ${persisted.certificate.id}`));
        await tx.execute(sql`insert into est_seam_log (certificate_id) values (${persisted.certificate.id})`);
        seen.push({ id: persisted.certificate.id, visibleInTx: row.n, pending: persisted.pendingRequestId });
        if (failHook) throw new Error('hook refuses');
      });
      a.get('/est/ping', (c) => c.json({ address: p.http.clientAddress(c), peer: p.http.peerCertificates(c).length }));
      const admin = p.adminRouter();
      admin.get('/things', (c) => c.json({ operator: c.get('operator')?.name }));
      admin.post('/things', p.http.requireRole('officer'), (c) => c.json({ ok: true, operator: c.get('operator')?.name }, 201));
    },
  };

  beforeAll(async () => {
    t = await makeTestContext(driver);
    app = await buildApp(t.ctx, [testProtocol]);
    const base = await t.ctx.profiles.require('tls-client');
    await t.ctx.profiles.create({ ...base, name: 'held', manualApproval: true, description: 'held for an officer' });
  }, 60_000);
  afterAll(async () => t?.cleanup());

  const issue = (profile = 'tls-client', idempotencyKey?: string) =>
    pctx.pipeline.issue({
      principal: { id: 'est:client:1', protocol: 'est', authenticatedBy: 'tls-client-cert' },
      profile,
      key: { kind: 'csr', der: makeCsr({ subject: '/CN=device-1' }).der },
      idempotencyKey,
      metadata: { estTest: true },
    });

  it('gives no KEK and names itself', () => {
    expect(pctx.name).toBe('est');
    expect('kek' in pctx.config).toBe(false);
    expect(pctx.config.publicUrl).toBe(t.ctx.config.publicUrl);
  });

  it('an EST server identity with its SANs (est-server requires one)', async () => {
    const id = await pctx.keys.serviceIdentity({ name: 'tls', systemProfile: 'est-server', subject: 'CN=est.example', sans: [{ type: 'dns', value: 'est.example' }], key: { type: 'EC', curve: 'P-256' } });
    expect(new X509Certificate(id.certDer).subjectAltName).toBe('DNS:est.example');
    // A protocol client cannot ask the pipeline for a system profile.
    await expect(issue('est-server')).rejects.toMatchObject({ code: 'forbiddenProfile' });
  });

  it('issues through the pipeline; the onPersist hook runs inside the insert transaction', async () => {
    const r = await issue('tls-client', 'k1');
    expect(r.status).toBe('issued');
    if (r.status !== 'issued') return;
    expect(seen.at(-1)).toEqual({ id: r.certificate.id, visibleInTx: 1, pending: undefined });
    const [log] = rows<{ n: number }>(await t.ctx.db.execute(sql`select count(*)::int as n from est_seam_log where certificate_id = ${r.certificate.id}`));
    expect(log.n).toBe(1);
    // The certificate verifies under the chain the pipeline returned (openssl as the independent check).
    const dir = tempDir();
    opensslOk(['verify', '-CAfile', writePem(dir, 'root.pem', r.chain.at(-1)!), '-untrusted', writePem(dir, 'chain.pem', r.chain.slice(0, -1)), writePem(dir, 'leaf.pem', r.certificate.der)]);
  });

  it('a throwing hook aborts the insert: no certificate, no hook row, the error reaches the caller', async () => {
    const before = rows<{ n: number }>(await t.ctx.db.execute(sql`select count(*)::int as n from certificates`))[0].n;
    failHook = true;
    try {
      await expect(issue()).rejects.toThrow('hook refuses');
    } finally {
      failHook = false;
    }
    const failed = seen.at(-1)!;
    expect(failed.visibleInTx).toBe(1);
    expect(await pctx.certificates.byId(failed.id)).toBeUndefined();
    const [log] = rows<{ n: number }>(await t.ctx.db.execute(sql`select count(*)::int as n from est_seam_log where certificate_id = ${failed.id}`));
    expect(log.n).toBe(0);
    expect(rows<{ n: number }>(await t.ctx.db.execute(sql`select count(*)::int as n from certificates`))[0].n).toBe(before);
  });

  it('an approved held request runs the hook in its insert, told which request it completes', async () => {
    const r = await issue('held');
    expect(r.status).toBe('pending');
    if (r.status !== 'pending') return;
    expect((await pctx.pipeline.getRequest(r.requestId)).status).toBe('pending');
    const approved = await t.ctx.pipeline.approve(r.requestId, 'officer:test');
    expect(approved.status).toBe('issued');
    if (approved.status !== 'issued') return;
    expect(seen.at(-1)).toEqual({ id: approved.certificate.id, visibleInTx: 1, pending: r.requestId });
    const now = await pctx.pipeline.getRequest(r.requestId);
    expect(now.status === 'issued' && now.certificate.id).toBe(approved.certificate.id);
  });

  it('queries certificates by id, serial, DER and idempotency key (read-only records)', async () => {
    const r = await issue('tls-client', 'k2');
    if (r.status !== 'issued') throw new Error('not issued');
    const c = r.certificate;
    const byId = await pctx.certificates.byId(c.id);
    expect(byId).toMatchObject({ id: c.id, serial: c.serial, status: 'valid', protocol: 'est', principalId: 'est:client:1', metadata: { estTest: true } });
    expect((await pctx.certificates.bySerial(c.issuerId, c.serial.toUpperCase()))?.id).toBe(c.id);
    expect((await pctx.certificates.byDer(c.der))?.id).toBe(c.id);
    expect((await pctx.certificates.byIdempotencyKey('est', 'est:client:1', 'k2'))?.id).toBe(c.id);
    expect(await pctx.certificates.byIdempotencyKey('est', 'est:client:2', 'k2')).toBeUndefined();
    expect(await pctx.certificates.bySerial(c.issuerId, 'not hex')).toBeUndefined();
    expect(await pctx.certificates.byDer(Buffer.from([0x30, 0x00]))).toBeUndefined();
    // Revocation through the seam is what the queries (and OCSP/CRL) see.
    await pctx.revocation.suspend(c.issuerId, c.serial, 'est:test');
    expect((await pctx.certificates.byId(c.id))?.status).toBe('hold');
    await pctx.revocation.reinstate(c.issuerId, c.serial, 'est:test');
    await pctx.revocation.revoke(c.issuerId, c.serial, 4, 'est:test');
    expect(await pctx.certificates.byId(c.id)).toMatchObject({ status: 'revoked', revocationReason: 4 });
  });

  it('describes issuers and finds the issuer of a certificate by name and signature', async () => {
    const r = await issue();
    if (r.status !== 'issued') throw new Error('not issued');
    const def = pctx.issuers.default()!;
    expect(def.id).toBe(r.certificate.issuerId);
    expect(pctx.issuers.list().map((i) => i.id).sort()).toEqual(['dev-issuing', 'dev-root']);
    expect((await pctx.issuers.get('dev-root'))?.isRoot).toBe(true);
    expect(def.chain[0].equals(def.certDer)).toBe(true);
    expect(def.keyRef).toBe('sealed:issuer:dev-issuing');
    expect((await pctx.issuers.issuerOf(r.certificate.der))?.id).toBe(def.id);
    expect((await pctx.issuers.issuerOf(def.certDer))?.id).toBe('dev-root');
    // Same issuer name, a signature that does not verify: not ours.
    const forged = Buffer.from(r.certificate.der);
    forged[forged.length - 5] ^= 1;
    expect(await pctx.issuers.issuerOf(forged)).toBeUndefined();
    expect(await pctx.issuers.issuerOf(Buffer.from('not a certificate'))).toBeUndefined();
  });

  it("reads an issuer's complete CRL (the one /crl/<issuer>.crl serves), with a revocation in it", async () => {
    const r = await issue();
    if (r.status !== 'issued') throw new Error('not issued');
    const c = r.certificate;
    const before = await pctx.crls.latest(c.issuerId);
    if (!before) throw new Error('no CRL');
    expect(crlSerialsFromText(crlText(before.der))).not.toContain(c.serial.toLowerCase());
    await pctx.revocation.revoke(c.issuerId, c.serial, 1, 'est:test');
    const after = await pctx.crls.latest(c.issuerId);
    if (!after) throw new Error('no CRL');
    expect(after.number).toBeGreaterThan(before.number);
    expect(after.nextUpdate.getTime()).toBeGreaterThan(after.thisUpdate.getTime());
    const text = crlText(after.der);
    expect(crlSerialsFromText(text)).toContain(c.serial.toLowerCase());
    expect(text).toMatch(new RegExp(`CRL Number: *\\n *${after.number}\\b`));
    // The same bytes the public CRL endpoint serves.
    const served = await app.request(`/crl/${c.issuerId}.crl`);
    expect(Buffer.from(await served.arrayBuffer()).equals(after.der)).toBe(true);
    expect(await pctx.crls.latest('no-such-issuer')).toBeUndefined();
  });

  it("signs with an issuer's key through the key store, without handing out the key", async () => {
    const h = await pctx.keys.forIssuer('dev-issuing');
    expect(h.keyRef).toBe('sealed:issuer:dev-issuing');
    const data = Buffer.from('to be signed');
    const sig = await h.signer.sign(data);
    const issuerKey = new X509Certificate(pctx.issuers.default()!.certDer).publicKey;
    expect(verify('sha256', data, issuerKey, sig) || verify('sha384', data, issuerKey, sig)).toBe(true);
    expect(Object.values(h).some((v) => v && typeof v === 'object' && 'type' in v && (v as { type: string }).type === 'private')).toBe(false);
    await expect(pctx.keys.forIssuer('nope')).rejects.toBeInstanceOf(IssuanceError);
  });

  it('creates a service identity once from a system profile, and reuses it (also from another context on the same data)', async () => {
    const opts = { name: 'ra', systemProfile: 'scep-ra', subject: 'CN=Test RA', key: { type: 'RSA' as const, bits: 2048 } };
    const a = await pctx.keys.serviceIdentity(opts);
    const b = await pctx.keys.serviceIdentity(opts);
    const other = createProtocolContext(t.ctx, 'est');
    const c = await other.keys.serviceIdentity(opts);
    expect(b.certDer.equals(a.certDer)).toBe(true);
    expect(c.certDer.equals(a.certDer)).toBe(true);
    expect(c.key.keyRef).toBe(a.key.keyRef);
    const x = new X509Certificate(a.certDer);
    expect(x.subject).toBe('CN=Test RA');
    expect(x.publicKey.export({ format: 'der', type: 'spki' }).equals(a.key.signer.publicKey.export({ format: 'der', type: 'spki' }))).toBe(true);
    expect(x.verify(new X509Certificate(a.chain[0]).publicKey)).toBe(true);
    const [n] = rows<{ n: number }>(await t.ctx.db.execute(sql`select count(*)::int as n from service_identities where protocol = 'est' and name = 'ra'`));
    expect(n.n).toBe(1);
    // Issued by the core under an internal principal, stored like every certificate.
    expect(await pctx.certificates.byDer(a.certDer)).toMatchObject({ profile: 'scep-ra', principalId: 'service:est:ra', protocol: 'internal' });
    // RSA: the key store decrypts (OAEP) with the identity's key.
    const secret = Buffer.from('envelope key');
    const ct = publicEncrypt({ key: a.key.signer.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
    expect((await a.key.decrypter!.decrypt(ct, { kind: 'oaep', hash: 'sha256' })).equals(secret)).toBe(true);
    // Another protocol's identity of the same name is its own.
    const scep = await createProtocolContext(t.ctx, 'scep').keys.serviceIdentity({ ...opts, systemProfile: 'cmp-signer', key: { type: 'EC', curve: 'P-256' } });
    expect(scep.certDer.equals(a.certDer)).toBe(false);
    expect(scep.key.decrypter).toBeUndefined();
  });

  it('an unknown or end-entity profile is refused for a service identity, and nothing is stored', async () => {
    const ask = (systemProfile: string) => pctx.keys.serviceIdentity({ name: 'x', systemProfile, subject: 'CN=x', key: { type: 'EC', curve: 'P-256' } });
    await expect(ask('no-such-profile')).rejects.toMatchObject({ code: 'unknownProfile' });
    await expect(ask('tls-client')).rejects.toMatchObject({ code: 'forbiddenProfile', rule: 'profile.audience' });
    const [n] = rows<{ n: number }>(await t.ctx.db.execute(sql`select count(*)::int as n from service_identities where name = 'x'`));
    expect(n.n).toBe(0);
  });

  it('answers status, serial and principal look-ups, and lists status changes since a point', async () => {
    const before = await pctx.revocation.changesSince(0);
    const r = await issue('tls-client', 'k3');
    if (r.status !== 'issued') throw new Error('not issued');
    const c = r.certificate;
    expect(await pctx.certificates.statusBySerial(c.issuerId, c.serial)).toEqual({ status: 'valid', revokedAt: undefined, revocationReason: undefined, notAfter: c.notAfter });
    expect((await pctx.certificates.bySerialAnyIssuer(c.serial)).map((x) => x.id)).toEqual([c.id]);
    const mine = await pctx.certificates.ofPrincipal('est:client:1', { serials: [c.serial] });
    expect(mine.map((x) => x.id)).toEqual([c.id]);
    expect(await pctx.certificates.ofPrincipal('est:client:other', { serials: [c.serial] })).toEqual([]);
    expect((await pctx.certificates.ofPrincipal('est:client:1', { metadata: { estTest: 'no' } })).length).toBe(0);
    await pctx.revocation.suspend(c.issuerId, c.serial, 'est:test');
    expect((await pctx.certificates.statusBySerial(c.issuerId, c.serial))?.status).toBe('hold');
    const last = before.at(-1)?.id ?? 0;
    const changes = await pctx.revocation.changesSince(last);
    expect(changes.map((x) => [x.issuerId, x.serial])).toEqual([[c.issuerId, c.serial]]);
    expect(changes[0].id).toBeGreaterThan(last);
  });

  it("keeps the protocol's own keys: generate, open by reference (its own only), adopt an old key", async () => {
    const k = await pctx.keys.generate({ type: 'EC', curve: 'P-256' }, 'responder:x');
    expect((await pctx.keys.open(k.keyRef)).signer.publicKey.export({ format: 'der', type: 'spki' })).toEqual(k.signer.publicKey.export({ format: 'der', type: 'spki' }));
    // Another protocol cannot open it, nor can this one open an issuer's key by reference.
    await expect(createProtocolContext(t.ctx, 'scep').keys.open(k.keyRef)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(pctx.keys.open('sealed:issuer:dev-issuing')).rejects.toMatchObject({ code: 'forbidden' });
    const { generateKeyPairSync } = await import('node:crypto');
    const old = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const adopted = await pctx.keys.adopt(old.privateKey.export({ format: 'der', type: 'pkcs8' }), 'legacy');
    const sig = await adopted.signer.sign(Buffer.from('z'));
    expect(verify('sha256', Buffer.from('z'), old.publicKey, sig)).toBe(true);
  });

  it('derives the same key for the same purpose, another for another protocol', () => {
    const a = pctx.secrets.derive('token-mac', 32);
    expect(a).toHaveLength(32);
    expect(createProtocolContext(t.ctx, 'est').secrets.derive('token-mac', 32).equals(a)).toBe(true);
    expect(createProtocolContext(t.ctx, 'scep').secrets.derive('token-mac', 32).equals(a)).toBe(false);
    expect(pctx.secrets.derive('other', 32).equals(a)).toBe(false);
  });

  it('creates a profile the protocol needs once, and never changes an existing one', async () => {
    const base = await t.ctx.profiles.require('tls-client');
    await pctx.profiles.ensure({ ...base, name: 'est-own', description: 'first' });
    await pctx.profiles.ensure({ ...base, name: 'est-own', description: 'second' });
    expect((await pctx.profiles.get('est-own'))?.description).toBe('first');
  });

  it('seals secrets in the protocol namespace: another protocol or the core cannot unseal them', () => {
    const sealed = pctx.secrets.seal('challenge', Buffer.from('s3cret'));
    expect(pctx.secrets.unseal('challenge', sealed).toString()).toBe('s3cret');
    expect(() => createProtocolContext(t.ctx, 'scep').secrets.unseal('challenge', sealed)).toThrow(/cannot unseal/);
    expect(() => pctx.secrets.unseal('other', sealed)).toThrow(/cannot unseal/);
    // A core secret (issuer key purpose) cannot be reached by naming its purpose.
    const core = seal(t.ctx.kek, Buffer.from('core'), 'issuer-key:dev-issuing');
    expect(() => pctx.secrets.unseal('issuer-key:dev-issuing', core)).toThrow(/cannot unseal/);
  });

  it('stores in its own tables through the store (query, transaction)', async () => {
    await expect(
      pctx.store.transaction(async (tx) => {
        await tx.execute(sql`insert into est_seam_log (certificate_id) values ('rolled-back')`);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await pctx.store.query('select certificate_id from est_seam_log where certificate_id = $1', ['rolled-back'])).toEqual([]);
    expect(await pctx.store.withLock(4242, async () => 7)).toBe(7);
  });

  describe('admin router at /api/v1/est (the one role check)', () => {
    const token = async (role: 'auditor' | 'officer' | 'administrator') => t.ctx.tokens.issue(await t.ctx.tokens.ensureOperator(`est-${role}`, role), 600);
    const call = (method: string, auth?: string) =>
      app.request('http://localhost/api/v1/est/things', { method, headers: auth ? { authorization: `Bearer ${auth}` } : {} });

    it('refuses without a token (401 with a Bearer challenge) and with a bad one', async () => {
      const r = await call('GET');
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await call('GET', 'not.a.token')).status).toBe(401);
    });

    it('lets an auditor read, refuses an auditor a route that needs an officer (403), lets an officer', async () => {
      const auditor = await token('auditor');
      const get = await call('GET', auditor);
      expect(get.status).toBe(200);
      expect(await get.json()).toEqual({ operator: 'est-auditor' });
      const denied = await call('POST', auditor);
      expect(denied.status).toBe(403);
      expect(((await denied.json()) as { error: string }).error).toBe('Forbidden');
      const ok = await call('POST', await token('officer'));
      expect(ok.status).toBe(201);
      expect(await ok.json()).toEqual({ ok: true, operator: 'est-officer' });
      expect((await call('POST', await token('administrator'))).status).toBe(201);
    });

    it('a disabled operator is refused at once', async () => {
      const tk = await token('officer');
      await t.ctx.tokens.disable('est-officer');
      expect((await call('POST', tk)).status).toBe(401);
    });
  });

  it('HTTP helpers over plain HTTP: the socket address, no peer certificates', async () => {
    const r = await app.request('http://localhost/est/ping');
    expect(r.status).toBe(200);
    expect(((await r.json()) as { peer: number }).peer).toBe(0);
  });
});
