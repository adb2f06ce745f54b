/**
 * RFC 8555 edge cases: JWS rules (§6.2-6.5), CSR checks (§7.4, §11.1), challenge failure,
 * order expiry, external account binding (§7.3.4), key change (§7.3.5), revocation (§7.6),
 * rate limits. Each refusal is a problem document and changes nothing.
 */
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { count, eq, sql } from 'drizzle-orm';
import { exportPKCS8, FlattenedSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAcmeProtocol, type AcmeModule } from '../../protocols/acme/index.ts';
import { holdsAuthorizationsFor } from '../../protocols/acme/revocation.ts';
import { acmeAccounts, acmeAuthorizations, acmeEabKeys, acmeOrders } from '../../protocols/acme/schema.ts';
import { buildApp } from '../../src/server.ts';
import { CertificateWriter } from '../../src/db/certificate-writer.ts';
import { certificates } from '../../src/db/schema.ts';
import { fromPem } from '../../src/pki/pem.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { makeCsr, tempDir } from '../support/openssl.ts';
import { AcmeClient, Http01Responder, completeOrder, newKey, signJws, type Fetch } from './client.ts';
import { startAcme, type AcmeHarness } from './harness.ts';

const BASE = 'http://acme.test';
const err = (t: string) => `urn:ietf:params:acme:error:${t}`;

describe.each(drivers)('ACME edge cases (%s)', (driver) => {
  let h: AcmeHarness;
  let t: TestContext;
  let acme: AcmeModule;
  let fetchFn: Fetch;
  let responder: Http01Responder;
  let client: AcmeClient;

  const newClient = async (alg: Parameters<typeof newKey>[0] = 'ES256') => new AcmeClient(`${BASE}/acme/directory`, await newKey(alg), fetchFn).init();
  const accounts = async () => (await t.ctx.db.select({ n: count() }).from(acmeAccounts))[0].n;

  beforeAll(async () => {
    h = await startAcme(driver);
    ({ t, acme, fetchFn, responder } = h);
    client = await newClient();
    expect((await client.newAccount()).status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('JWS (§6.2-6.5)', () => {
    it('refuses a JWS whose url is not the request URL (unauthorized)', async () => {
      const r = await client.post(client.dir.newOrder, { identifiers: [{ type: 'dns', value: 'a.example' }] }, { url: `${BASE}/acme/new-account` });
      expect(r.status).toBe(403);
      expect(r.json.type).toBe(err('unauthorized'));
      expect(r.headers.get('content-type')).toBe('application/problem+json');
    });

    it('refuses a reused nonce with badNonce and hands out a fresh one', async () => {
      const nonce = await client.nonce();
      const first = await client.post(client.kid!, '', { nonce });
      expect(first.status).toBe(200);
      const second = await client.post(client.kid!, '', { nonce });
      expect(second.status).toBe(400);
      expect(second.json.type).toBe(err('badNonce'));
      const fresh = second.headers.get('replay-nonce');
      expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(fresh).not.toBe(nonce);
      expect((await client.post(client.kid!, '', { nonce: fresh! })).status).toBe(200);
    });

    it('shares nonces between instances through the database: one instance\'s nonce works once at another', async () => {
      const other = createAcmeProtocol({}, {});
      const app2 = await buildApp(t.ctx, [other]);
      const f2: Fetch = (u, i) => Promise.resolve(app2.request(u, i));
      const c2 = await new AcmeClient(`${BASE}/acme/directory`, client.key, f2).init();
      c2.kid = client.kid;
      const nonce = await client.nonce(); // from instance 1
      expect((await c2.post(client.kid!, '', { nonce })).status).toBe(200); // redeemed at instance 2
      const again = await client.post(client.kid!, '', { nonce }); // replayed at instance 1
      expect(again.json.type).toBe(err('badNonce'));
    });

    it('refuses a forged or missing nonce with badNonce', async () => {
      const r = await client.post(client.kid!, '', { nonce: 'A'.repeat(43) });
      expect(r.json.type).toBe(err('badNonce'));
    });

    it('refuses kid and jwk together (malformed)', async () => {
      const r = await client.post(client.dir.newOrder, { identifiers: [{ type: 'dns', value: 'a.example' }] }, { extra: { jwk: client.key.jwk } });
      expect(r.status).toBe(400);
      expect(r.json.type).toBe(err('malformed'));
    });

    it('refuses an unknown kid (accountDoesNotExist)', async () => {
      const r = await client.post(client.dir.newOrder, { identifiers: [{ type: 'dns', value: 'a.example' }] }, { kid: `${BASE}/acme/acct/nosuchaccount` });
      expect(r.status).toBe(400);
      expect(r.json.type).toBe(err('accountDoesNotExist'));
    });

    it('refuses alg none, HS256 and PS256 (badSignatureAlgorithm, listing the algorithms)', async () => {
      const nonce = await client.nonce();
      const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const none = { protected: enc({ alg: 'none', nonce, url: client.dir.newOrder, kid: client.kid }), payload: enc({ identifiers: [] }), signature: '' };
      const r1 = await fetchFn(client.dir.newOrder, { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: JSON.stringify(none) });
      const j1 = (await r1.json()) as any;
      expect(j1.type).toBe(err('badSignatureAlgorithm'));
      expect(j1.algorithms).toEqual(['RS256', 'ES256', 'ES384', 'ES512', 'EdDSA']);

      const prot = enc({ alg: 'HS256', nonce: await client.nonce(), url: client.dir.newOrder, kid: client.kid });
      const payload = enc({});
      const mac = createHmac('sha256', 'secret').update(`${prot}.${payload}`).digest('base64url');
      const r2 = await fetchFn(client.dir.newOrder, { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: JSON.stringify({ protected: prot, payload, signature: mac }) });
      expect(((await r2.json()) as any).type).toBe(err('badSignatureAlgorithm'));

      const rsa = await newKey('RS256');
      const { generateKeyPair } = await import('jose');
      const ps = await generateKeyPair('PS256');
      const jws = await new FlattenedSign(new TextEncoder().encode('{}'))
        .setProtectedHeader({ alg: 'PS256', nonce: await client.nonce(), url: client.dir.newAccount, jwk: rsa.jwk } as never)
        .sign(ps.privateKey);
      const r3 = await fetchFn(client.dir.newAccount, { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: JSON.stringify(jws) });
      expect(((await r3.json()) as any).type).toBe(err('badSignatureAlgorithm'));
    });

    it('refuses a signature made by another key (malformed) and a wrong Content-Type', async () => {
      const other = await newKey('ES256');
      const r = await client.post(client.kid!, '', { key: other });
      expect(r.json.type).toBe(err('malformed'));
      const body = await signJws(client.key, { alg: 'ES256', nonce: await client.nonce(), url: client.kid, kid: client.kid }, '');
      const r2 = await fetchFn(client.kid!, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      expect(r2.status).toBe(415);
    });

    it('accepts every supported algorithm: ES384, ES512, RS256, EdDSA', async () => {
      for (const alg of ['ES384', 'ES512', 'RS256', 'EdDSA'] as const) {
        const c = await newClient(alg);
        const r = await c.newAccount();
        expect(r.status, `${alg}: ${r.text}`).toBe(201);
        expect((await c.post(c.kid!, '')).status).toBe(200);
      }
    });

    it('answers GET on a POST-only resource with 405', async () => {
      const r = await fetchFn(`${BASE}/acme/new-order`, { method: 'GET' });
      expect(r.status).toBe(405);
      expect(((await r.json()) as any).type).toBe(err('malformed'));
      expect(r.headers.get('replay-nonce')).toBeTruthy();
      const p = await fetchFn(`${BASE}/acme/directory`, { method: 'POST', body: '{}' });
      expect(p.status).toBe(405);
      const missing = await fetchFn(`${BASE}/acme/nothing-here`, { method: 'GET' });
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toBe('application/problem+json');
    });
  });

  describe('accounts (§7.3)', () => {
    it('onlyReturnExisting with an unknown key: accountDoesNotExist, nothing created', async () => {
      const before = await accounts();
      const c = await newClient();
      const r = await c.newAccount({ onlyReturnExisting: true });
      expect(r.json.type).toBe(err('accountDoesNotExist'));
      expect(await accounts()).toBe(before);
    });

    it('refuses invalid and unsupported contacts', async () => {
      const c = await newClient();
      expect((await c.newAccount({ contact: ['mailto:not-an-address'] })).json.type).toBe(err('invalidContact'));
      expect((await c.newAccount({ contact: ['tel:+15551234'] })).json.type).toBe(err('unsupportedContact'));
    });

    it('a deactivated account can no longer act (unauthorized)', async () => {
      const c = await newClient();
      await c.newAccount();
      const upd = await c.post(c.kid!, { contact: ['mailto:new@example.com'] });
      expect(upd.json.contact).toEqual(['mailto:new@example.com']);
      const d = await c.post(c.kid!, { status: 'deactivated' });
      expect(d.status).toBe(200);
      expect(d.json.status).toBe('deactivated');
      const r = await c.newOrder([{ type: 'dns', value: 'a.example' }]);
      expect(r.status).toBe(401); // RFC 8555 §7.3.6
      expect(r.json.type).toBe(err('unauthorized'));
    });

    it('another account cannot read or update this one', async () => {
      const c = await newClient();
      await c.newAccount();
      const r = await c.post(client.kid!, { contact: [] }, { url: client.kid });
      expect(r.json.type).toBe(err('unauthorized'));
    });
  });

  describe('orders, CSRs and challenges (§7.4, §7.5, §8)', () => {
    it('wildcards get dns-01 only; IP identifiers get http-01 and tls-alpn-01', async () => {
      const o = await client.newOrder([{ type: 'dns', value: '*.Example.COM' }, { type: 'ip', value: '192.0.2.7' }]);
      expect(o.status).toBe(201);
      expect(o.json.identifiers).toEqual([{ type: 'dns', value: '*.example.com' }, { type: 'ip', value: '192.0.2.7' }]);
      const authzs = await Promise.all(o.json.authorizations.map((u: string) => client.get(u)));
      const wild = authzs.find((a) => a.json.identifier.type === 'dns')!.json;
      expect(wild.wildcard).toBe(true);
      expect(wild.identifier.value).toBe('example.com');
      expect(wild.challenges.map((c: any) => c.type)).toEqual(['dns-01']);
      const ip = authzs.find((a) => a.json.identifier.type === 'ip')!.json;
      expect(ip.challenges.map((c: any) => c.type)).toEqual(['http-01', 'tls-alpn-01']);
    });

    it('refuses bad identifiers with subproblems', async () => {
      const r = await client.newOrder([{ type: 'dns', value: 'bad_name!.example' }, { type: 'email', value: 'a@b.example' }]);
      expect(r.status).toBe(400);
      expect(r.json.subproblems).toHaveLength(2);
      expect(r.json.subproblems[1].identifier).toEqual({ type: 'email', value: 'a@b.example' });
      expect((await client.newOrder([], {})).json.type).toBe(err('malformed'));
      expect((await client.newOrder([{ type: 'dns', value: 'a.example' }], { profile: 'nope' })).json.type).toBe(err('invalidProfile'));
    });

    it('refuses finalize before the order is ready (orderNotReady)', async () => {
      const o = await client.newOrder([{ type: 'dns', value: 'localhost' }]);
      const csr = makeCsr({ sans: ['DNS:localhost'] });
      const f = await client.post(o.json.finalize, { csr: csr.der.toString('base64url') });
      expect(f.status).toBe(403);
      expect(f.json.type).toBe(err('orderNotReady'));
    });

    it('refuses a CSR naming another name, and a CSR with the account key (badCSR); the order stays ready', async () => {
      const o = await client.newOrder([{ type: 'dns', value: 'localhost' }]);
      const a = await client.get(o.json.authorizations[0]);
      const ch = a.json.challenges.find((c: any) => c.type === 'http-01');
      responder.tokens.set(ch.token, client.keyAuthorization(ch.token));
      await client.post(ch.url, {});
      expect((await client.poll(o.json.authorizations[0])).json.status).toBe('valid');
      expect((await client.get(o.location!)).json.status).toBe('ready');

      const other = makeCsr({ sans: ['DNS:localhost', 'DNS:evil.example'] });
      const f1 = await client.post(o.json.finalize, { csr: other.der.toString('base64url') });
      expect(f1.json.type).toBe(err('badCSR'));
      expect(f1.json.detail).toContain('evil.example');

      const cn = makeCsr({ subject: '/CN=evil.example', sans: ['DNS:localhost'] });
      expect((await client.post(o.json.finalize, { csr: cn.der.toString('base64url') })).json.type).toBe(err('badCSR'));

      const dir = tempDir('certgate-acme-key-');
      const keyFile = join(dir, 'account.pem');
      writeFileSync(keyFile, await exportPKCS8(client.key.privateKey as never));
      const own = makeCsr({ keyFile, sans: ['DNS:localhost'] });
      const f2 = await client.post(o.json.finalize, { csr: own.der.toString('base64url') });
      expect(f2.json.type).toBe(err('badCSR'));
      expect(f2.json.detail).toContain('account key');

      expect((await client.post(o.json.finalize, { csr: 'AAAA' })).json.type).toBe(err('badCSR'));
      expect((await client.get(o.location!)).json.status).toBe('ready');
      const good = makeCsr({ sans: ['DNS:localhost'] });
      // Issuance done within the poll wait: finalize answers with the valid order itself.
      const fin = await client.post(o.json.finalize, { csr: good.der.toString('base64url') });
      expect(fin.json.status).toBe('valid');
      expect(fin.json.certificate).toMatch(/\/acme\/cert\//);
      expect(fin.headers.get('retry-after')).toBeNull();
      expect((await client.get(o.location!)).json).toEqual(fin.json);
    });

    it('answers processing with Retry-After when the outcome is not there within the poll wait (challenge; finalize unless already done)', async () => {
      const slow = createAcmeProtocol({ allowPrivateTargets: true, http01Port: responder.port, validationRetries: 0, pollWaitMs: 50 }, {});
      const app = await buildApp(t.ctx, [slow]);
      const c = await new AcmeClient(`${BASE}/acme/directory`, await newKey(), (u, i) => Promise.resolve(app.request(u, i))).init();
      expect((await c.newAccount()).status).toBe(201);
      const o = await c.newOrder([{ type: 'dns', value: 'localhost' }]);
      const a = await c.get(o.json.authorizations[0]);
      const ch = a.json.challenges.find((x: any) => x.type === 'http-01');
      responder.tokens.set(ch.token, c.keyAuthorization(ch.token));
      // The web server answers after 400 ms: past the 50 ms wait, so the challenge is stored processing.
      responder.delays.set(ch.token, 400);
      const r = await c.post(ch.url, {});
      expect(r.json.status).toBe('processing');
      expect(r.headers.get('retry-after')).toBe('1');
      const orderId = o.location!.split('/').pop()!;
      const stored = await t.ctx.db.execute(sql`select c.status from acme_challenges c join acme_authorizations a on a.id = c.authz_id where a.order_id = ${orderId} and c.type = 'http-01'`);
      expect(((Array.isArray(stored) ? stored : (stored as unknown as { rows: unknown[] }).rows) as { status: string }[])[0].status).toBe('processing');
      expect((await c.poll(o.json.authorizations[0])).json.status).toBe('valid');
      // Issuance takes a few ms; past a 50 ms wait only on a loaded machine: either answer is right,
      // and each carries its own headers (held orders show processing for certain: next test).
      const f = await c.post(o.json.finalize, { csr: makeCsr({ sans: ['DNS:localhost'] }).der.toString('base64url') });
      if (f.json.status === 'processing') {
        expect(f.headers.get('retry-after')).toBe('1');
        expect(f.json.certificate).toBeUndefined();
      } else {
        expect(f.json.status).toBe('valid');
        expect(f.headers.get('retry-after')).toBeNull();
      }
      const done = await c.poll(o.location!);
      expect(done.json.status).toBe('valid');
      expect(done.json.certificate).toMatch(/\/acme\/cert\//);
      await slow.drain();
    });

    it('records a failing challenge in the authorization and invalidates the order', async () => {
      const o = await client.newOrder([{ type: 'dns', value: 'localhost' }]);
      const a = await client.get(o.json.authorizations[0]);
      const ch = a.json.challenges.find((c: any) => c.type === 'http-01');
      responder.tokens.set(ch.token, 'not-the-key-authorization');
      const r = await client.post(ch.url, {});
      // The validation fails within the poll wait: the answer is the failed challenge.
      expect(r.json.status).toBe('invalid');
      expect(r.json.error.type).toBe(err('incorrectResponse'));
      expect(r.headers.get('link')).toContain(`<${o.json.authorizations[0]}>;rel="up"`);
      expect(r.headers.get('link')).toContain(`<${BASE}/acme/directory>;rel="index"`);
      expect(r.headers.get('retry-after')).toBeNull();
      const done = await client.poll(o.json.authorizations[0]);
      expect(done.json.status).toBe('invalid');
      const failed = done.json.challenges.find((c: any) => c.type === 'http-01');
      expect(failed.status).toBe('invalid');
      expect(failed.error.type).toBe(err('incorrectResponse'));
      expect(failed.error.detail).toContain('not-the-key-authorization');
      const order = await client.get(o.location!);
      expect(order.json.status).toBe('invalid');
      expect(order.json.error.subproblems[0].identifier).toEqual({ type: 'dns', value: 'localhost' });
      // Answering again changes nothing.
      expect((await client.post(ch.url, {})).json.status).toBe('invalid');
    });

    it('a 404 from the responder is an unauthorized challenge error', async () => {
      const o = await client.newOrder([{ type: 'dns', value: 'localhost' }]);
      const a = await client.get(o.json.authorizations[0]);
      const ch = a.json.challenges.find((c: any) => c.type === 'http-01');
      await client.post(ch.url, {});
      const done = await client.poll(o.json.authorizations[0]);
      expect(done.json.challenges.find((c: any) => c.type === 'http-01').error.type).toBe(err('unauthorized'));
    });

    it('an expired order is invalid and cannot be finalized', async () => {
      const o = await client.newOrder([{ type: 'dns', value: 'localhost' }]);
      const id = o.location!.split('/').pop()!;
      await t.ctx.db.update(acmeOrders).set({ expires: new Date(Date.now() - 1000) }).where(eq(acmeOrders.id, id));
      await t.ctx.db.execute(sql`update acme_authorizations set expires = now() - interval '1 second' where order_id = ${id}`);
      const r = await client.get(o.location!);
      expect(r.json.status).toBe('invalid');
      expect((await client.get(o.json.authorizations[0])).json.status).toBe('expired');
      const csr = makeCsr({ sans: ['DNS:localhost'] });
      const f = await client.post(o.json.finalize, { csr: csr.der.toString('base64url') });
      expect(f.json.type).toBe(err('orderNotReady'));
    });

    it('deactivating an authorization invalidates its order', async () => {
      const o = await client.newOrder([{ type: 'dns', value: 'localhost' }]);
      const d = await client.post(o.json.authorizations[0], { status: 'deactivated' });
      expect(d.json.status).toBe('deactivated');
      expect((await client.get(o.location!)).json.status).toBe('invalid');
    });

    it('rate-limits new orders per account with rateLimited and Retry-After', async () => {
      const limited = createAcmeProtocol({ rateOrdersPerAccount: 6 }, {});
      const app = await buildApp(t.ctx, [limited]);
      const c = await new AcmeClient(`${BASE}/acme/directory`, await newKey(), (u, i) => Promise.resolve(app.request(u, i))).init();
      await c.newAccount();
      let last;
      for (let i = 0; i < 7; i++) last = await c.newOrder([{ type: 'dns', value: `n${i}.example` }]);
      expect(last!.status).toBe(429);
      expect(last!.json.type).toBe(err('rateLimited'));
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
      // The first order took the general path; the others were counted in their one statement.
      const accountId = c.kid!.split('/').pop()!;
      expect(limited.knowsAccountKey(accountId)).toBe(true);
      expect((await t.ctx.db.select({ n: count() }).from(acmeOrders).where(eq(acmeOrders.accountId, accountId)))[0].n).toBe(6);
    });
  });

  describe('external account binding (§7.3.4)', () => {
    const eab = async (c: AcmeClient, kid: string, hmacKey: string, url = c.dir.newAccount) =>
      signJws({ alg: 'HS256', privateKey: Buffer.from(hmacKey, 'base64url') as never } as never, { alg: 'HS256', kid, url }, c.key.jwk);

    it('creates keys through the admin API (officer) and binds one account per key; a bad MAC is refused', async () => {
      const officer = await t.ctx.tokens.ensureOperator('acme-officer', 'officer');
      const auditor = await t.ctx.tokens.ensureOperator('acme-auditor', 'auditor');
      const post = async (token?: string) =>
        fetchFn(`${BASE}/api/v1/acme/eab`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ note: 'test' }) });
      expect((await post()).status).toBe(401);
      expect((await post(await t.ctx.tokens.issue(auditor, 600))).status).toBe(403);
      const res = await post(await t.ctx.tokens.issue(officer, 600));
      expect(res.status).toBe(201);
      const key = (await res.json()) as { kid: string; hmacKey: string };
      expect(key.hmacKey).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const before = await accounts();
      const c = await newClient();
      const wrong = Buffer.alloc(32, 7).toString('base64url');
      const bad = await c.newAccount({ termsOfServiceAgreed: true, externalAccountBinding: await eab(c, key.kid, wrong) });
      expect(bad.status).toBe(403);
      expect(bad.json.type).toBe(err('unauthorized'));
      expect(bad.json.detail).toContain('MAC');
      const unknown = await c.newAccount({ termsOfServiceAgreed: true, externalAccountBinding: await eab(c, 'kid-nope', key.hmacKey) });
      expect(unknown.json.type).toBe(err('unauthorized'));
      expect(await accounts()).toBe(before);

      const ok = await c.newAccount({ termsOfServiceAgreed: true, externalAccountBinding: await eab(c, key.kid, key.hmacKey) });
      expect(ok.status).toBe(201);
      const [row] = await t.ctx.db.select().from(acmeEabKeys).where(eq(acmeEabKeys.kid, key.kid));
      expect(row.accountId).toBe(ok.location!.split('/').pop());

      const c2 = await newClient();
      const reuse = await c2.newAccount({ termsOfServiceAgreed: true, externalAccountBinding: await eab(c2, key.kid, key.hmacKey) });
      expect(reuse.json.type).toBe(err('unauthorized'));
      // A binding over another key is refused.
      const c3 = await newClient();
      const mismatched = await signJws({ alg: 'HS256', privateKey: Buffer.from(key.hmacKey, 'base64url') } as never, { alg: 'HS256', kid: key.kid, url: c3.dir.newAccount }, c2.key.jwk);
      expect((await c3.newAccount({ externalAccountBinding: mismatched })).status).toBeGreaterThanOrEqual(400);
    });

    it('requires a binding when CERTGATE_ACME_EAB_REQUIRED is set', async () => {
      const t2 = await makeTestContext(driver);
      try {
        const m = createAcmeProtocol({}, { CERTGATE_ACME_EAB_REQUIRED: 'true' });
        const app = await buildApp(t2.ctx, [m]);
        const f: Fetch = (u, i) => Promise.resolve(app.request(u, i));
        const c = await new AcmeClient(`${BASE}/acme/directory`, await newKey(), f).init();
        expect(c.dir.meta.externalAccountRequired).toBe(true);
        const r = await c.newAccount();
        expect(r.status).toBe(403);
        expect(r.json.type).toBe(err('externalAccountRequired'));
      } finally {
        await t2.cleanup();
      }
    });
  });

  describe('key change (§7.3.5)', () => {
    const keyChange = async (c: AcmeClient, to: Awaited<ReturnType<typeof newKey>>) => {
      const inner = await signJws(to, { alg: to.alg, jwk: to.jwk, url: c.dir.keyChange }, { account: c.kid, oldKey: c.key.jwk });
      return c.post(c.dir.keyChange, inner);
    };

    it('refuses a key already used by another account (409 with its Location), then rolls the key', async () => {
      const a = await newClient();
      await a.newAccount();
      const b = await newClient();
      await b.newAccount();
      const r = await keyChange(a, b.key);
      expect(r.status).toBe(409);
      expect(r.location).toBe(b.kid);
      // Still the old key.
      expect((await a.post(a.kid!, '')).status).toBe(200);

      const fresh = await newKey('ES256');
      const ok = await keyChange(a, fresh);
      expect(ok.status).toBe(200);
      const oldKey = a.key;
      a.key = fresh;
      expect((await a.post(a.kid!, '')).status).toBe(200);
      a.key = oldKey;
      expect((await a.post(a.kid!, '')).json.type).toBe(err('malformed'));
    });
  });

  describe('known account keys: newOrder verified before its one statement', () => {
    const ids = [{ type: 'dns', value: 'known.example' }];
    const ordersOf = async (c: AcmeClient) =>
      (await t.ctx.db.select({ n: count() }).from(acmeOrders).where(eq(acmeOrders.accountId, c.kid!.split('/').pop()!)))[0].n;
    /** The same account through a second instance on the same database. */
    const viaOther = async (c: AcmeClient) => {
      const app2 = await buildApp(t.ctx, [createAcmeProtocol({}, {})]);
      const o = await new AcmeClient(`${BASE}/acme/directory`, c.key, (u, i) => Promise.resolve(app2.request(u, i))).init();
      o.kid = c.kid;
      return o;
    };
    /** An account whose key this instance knows (its second newOrder takes the one-statement path). */
    const known = async () => {
      const c = await newClient();
      expect((await c.newAccount()).status).toBe(201);
      expect((await c.newOrder(ids)).status).toBe(201);
      expect((await c.newOrder(ids)).status).toBe(201);
      expect(acme.knowsAccountKey(c.kid!.split('/').pop()!)).toBe(true);
      return c;
    };

    it('a reused nonce is badNonce and stores no order', async () => {
      const c = await known();
      const before = await ordersOf(c);
      const nonce = await c.nonce();
      expect((await c.post(c.dir.newOrder, { identifiers: ids }, { nonce })).status).toBe(201);
      const again = await c.post(c.dir.newOrder, { identifiers: ids }, { nonce });
      expect(again.status).toBe(400);
      expect(again.json.type).toBe(err('badNonce'));
      expect(await ordersOf(c)).toBe(before + 1);
    });

    it('after a key change made by another instance, the old key is refused and nothing is stored; the new key works', async () => {
      const c = await known();
      const other = await viaOther(c);
      const fresh = await newKey('ES256');
      const inner = await signJws(fresh, { alg: fresh.alg, jwk: fresh.jwk, url: other.dir.keyChange }, { account: other.kid, oldKey: other.key.jwk });
      expect((await other.post(other.dir.keyChange, inner)).status).toBe(200);
      const before = await ordersOf(c);
      const stale = await c.newOrder(ids);
      expect(stale.status).toBe(400);
      expect(stale.json.type).toBe(err('malformed'));
      expect(await ordersOf(c)).toBe(before);
      c.key = fresh;
      expect((await c.newOrder(ids)).status).toBe(201);
      expect(await ordersOf(c)).toBe(before + 1);
    });

    it('after a deactivation made by another instance, newOrder is unauthorized (401) and nothing is stored', async () => {
      const c = await known();
      const other = await viaOther(c);
      expect((await other.post(other.kid!, { status: 'deactivated' })).json.status).toBe('deactivated');
      const before = await ordersOf(c);
      const r = await c.newOrder(ids);
      expect(r.status).toBe(401);
      expect(r.json.type).toBe(err('unauthorized'));
      expect(await ordersOf(c)).toBe(before);
    });
  });

  describe('orders completed with their certificate (onPersist hook, in the insert statement)', () => {
    it('a certificate stored for the order by its own account completes it; one stored under another principal does not', async () => {
      const o = await client.newOrder([{ type: 'dns', value: 'localhost' }]);
      const orderId = o.location!.split('/').pop()!;
      const accountId = client.kid!.split('/').pop()!;
      await t.ctx.db.update(acmeOrders).set({ status: 'ready' }).where(eq(acmeOrders.id, orderId));
      const [issuer] = await t.ctx.db.execute(sql`select id from issuers limit 1`).then((r) => (Array.isArray(r) ? r : (r as unknown as { rows: unknown[] }).rows) as { id: string }[]);
      // The core's writer with the hooks the mounted ACME module registered.
      const writer = new CertificateWriter(t.ctx.database, 1, 256, t.ctx.persistHooks);
      const insert = (id: string, principal: string) => {
        const cert = {
          id, issuerId: issuer.id, serial: id.replace(/-/g, '').slice(0, 32), der: Buffer.from([0x30, 0]), subject: '', sans: [], notBefore: new Date(), notAfter: new Date(Date.now() + 3600_000),
          profile: 'tls-server', status: 'valid', spkiSha256: 'x', protocol: 'acme', principal, metadata: { acmeOrder: orderId },
        };
        return writer.write(cert, { actor: principal, action: 'certificate.issue' }, {
          certificate: { ...cert, sans: [] }, principalId: principal, metadata: cert.metadata,
        });
      };
      const status = async () => (await t.ctx.db.select({ s: acmeOrders.status, c: acmeOrders.certificateId }).from(acmeOrders).where(eq(acmeOrders.id, orderId)))[0];
      expect(await insert('00000000-0000-4000-8000-00000000000a', 'acme:account:someone-else')).toEqual({ ok: true });
      expect(await status()).toEqual({ s: 'ready', c: null });
      expect(await insert('00000000-0000-4000-8000-00000000000b', `acme:account:${accountId}`)).toEqual({ ok: true });
      expect(await status()).toEqual({ s: 'valid', c: '00000000-0000-4000-8000-00000000000b' });
    });

    it('no trigger is left on the certificates table', async () => {
      const r = await t.ctx.db.execute(sql`select count(*)::int as n from pg_trigger where tgrelid = 'certificates'::regclass and not tgisinternal`);
      const [row] = (Array.isArray(r) ? r : (r as unknown as { rows: unknown[] }).rows) as { n: number }[];
      expect(row.n).toBe(0);
    });
  });

  describe('restart recovery (several instances share the database)', () => {
    const readyOrder = async (c: AcmeClient) => {
      const o = await c.newOrder([{ type: 'dns', value: 'localhost' }]);
      const a = await c.get(o.json.authorizations[0]);
      const ch = a.json.challenges.find((x: any) => x.type === 'http-01');
      responder.tokens.set(ch.token, c.keyAuthorization(ch.token));
      expect((await c.post(ch.url, {})).json.status).toBe('valid');
      return o;
    };

    it('two instances finalizing one order at once issue one certificate, and both answers name it', async () => {
      const other = createAcmeProtocol({ allowPrivateTargets: true, http01Port: responder.port, validationRetries: 0, pollWaitMs: 5000 }, {});
      const otherApp = await buildApp(t.ctx, [other]);
      const viaOther = new AcmeClient(`${BASE}/acme/directory`, client.key, (u, i) => Promise.resolve(otherApp.request(u, i)));
      await viaOther.init();
      viaOther.kid = client.kid;
      const o = await readyOrder(client);
      const csr = makeCsr({ sans: ['DNS:localhost'] }).der.toString('base64url');
      const [x, y] = await Promise.all([client.post(o.json.finalize, { csr }), viaOther.post(o.json.finalize, { csr })]);
      const answers = [x, y].filter((r) => r.status === 200);
      expect(answers.length).toBeGreaterThanOrEqual(1);
      for (const r of [x, y]) if (r.status !== 200) expect(r.json.type).toBe(err('orderNotReady'));
      const orderId = o.location!.split('/').pop()!;
      const certs = await t.ctx.db.execute(sql`select id from certificates where metadata->>'acmeOrder' = ${orderId}`);
      const rows = (Array.isArray(certs) ? certs : (certs as unknown as { rows: unknown[] }).rows) as { id: string }[];
      expect(rows).toHaveLength(1);
      const final = await client.poll(o.location!);
      expect(final.json.status).toBe('valid');
      expect(final.json.certificate).toBe(`${BASE}/acme/cert/${rows[0].id}`);
      for (const r of answers) if (r.json.status === 'valid') expect(r.json.certificate).toBe(final.json.certificate);
      await other.drain();
    });

    it('an order held for manual approval is stored processing with its CSR, answered with Retry-After', async () => {
      const base = await t.ctx.profiles.require('tls-server');
      await t.ctx.profiles.create({ ...base, name: 'acme-held', manualApproval: true, description: 'held for an officer' });
      const held = createAcmeProtocol({ allowPrivateTargets: true, http01Port: responder.port, validationRetries: 0, profiles: 'tls-server=tls-server,held=acme-held' }, {});
      const app = await buildApp(t.ctx, [held]);
      const c = new AcmeClient(`${BASE}/acme/directory`, client.key, (u, i) => Promise.resolve(app.request(u, i)));
      await c.init();
      c.kid = client.kid;
      const o = await c.newOrder([{ type: 'dns', value: 'localhost' }], { profile: 'held' });
      expect(o.status).toBe(201);
      const a = await c.get(o.json.authorizations[0]);
      const ch = a.json.challenges.find((x: any) => x.type === 'http-01');
      responder.tokens.set(ch.token, c.keyAuthorization(ch.token));
      expect((await c.post(ch.url, {})).json.status).toBe('valid');
      const f = await c.post(o.json.finalize, { csr: makeCsr({ sans: ['DNS:localhost'] }).der.toString('base64url') });
      expect(f.json.status).toBe('processing');
      expect(f.headers.get('retry-after')).toBe('1');
      const orderId = o.location!.split('/').pop()!;
      const stored = await t.ctx.db.execute(sql`select status, csr is not null as has_csr from acme_orders where id = ${orderId}`);
      const row = ((Array.isArray(stored) ? stored : (stored as unknown as { rows: unknown[] }).rows) as { status: string; has_csr: boolean }[])[0];
      expect(row).toEqual({ status: 'processing', has_csr: true });
      expect((await c.get(o.location!)).json.status).toBe('processing');
      await held.drain();
      // An officer's approval issues the certificate; its insert completes the order (no sweep).
      const pending = await t.ctx.db.execute(sql`select id from pending_requests where idempotency_key like ${`%:${orderId}`} and status = 'pending'`);
      const [req] = (Array.isArray(pending) ? pending : (pending as unknown as { rows: unknown[] }).rows) as { id: string }[];
      const approved = await t.ctx.pipeline.approve(req.id, 'officer:test');
      expect(approved.status).toBe('issued');
      const done = await c.get(o.location!);
      expect(done.json.status).toBe('valid');
      expect(done.json.certificate).toBe(`${BASE}/acme/cert/${approved.status === 'issued' ? approved.certificate.id : ''}`);
      expect((await c.get(done.json.certificate)).text).toContain('BEGIN CERTIFICATE');
    });

    it('a challenge and an order left processing by a stopped instance are finished by the sweep', async () => {
      const o = await client.newOrder([{ type: 'dns', value: 'localhost' }]);
      const a = await client.get(o.json.authorizations[0]);
      const ch = a.json.challenges.find((c: any) => c.type === 'http-01');
      const chId = ch.url.split('/').pop();
      responder.tokens.set(ch.token, client.keyAuthorization(ch.token));
      // As if an instance had accepted the answer and stopped before validating.
      await t.ctx.db.execute(sql`update acme_challenges set status = 'processing', processing_since = now() - interval '1 day' where id = ${chId}`);
      expect((await client.get(o.json.authorizations[0])).json.status).toBe('pending');
      await acme.sweep();
      await acme.drain();
      expect((await client.get(o.json.authorizations[0])).json.status).toBe('valid');
      expect((await client.get(o.location!)).json.status).toBe('ready');

      // As if an instance had accepted the CSR and stopped before issuing.
      const csr = makeCsr({ sans: ['DNS:localhost'] });
      const id = o.location!.split('/').pop()!;
      await t.ctx.db
        .update(acmeOrders)
        .set({ status: 'processing', csr: csr.der, processingSince: new Date(Date.now() - 3600_000) })
        .where(eq(acmeOrders.id, id));
      await acme.sweep();
      await acme.drain();
      const done = await client.get(o.location!);
      expect(done.json.status).toBe('valid');
      const cert = await client.get(done.json.certificate);
      expect(cert.status).toBe(200);
      expect(cert.text).toContain('BEGIN CERTIFICATE');
    });
  });

  describe('revocation (§7.6)', () => {
    it('refuses a stranger, allows the issuing account', async () => {
      const csr = makeCsr({ sans: ['DNS:localhost'] });
      const { pem } = await completeOrder(client, responder, [{ type: 'dns', value: 'localhost' }], csr.der);
      const der = fromPem(pem, 'CERTIFICATE')[0];
      const stranger = await newClient();
      await stranger.newAccount();
      const r = await stranger.post(stranger.dir.revokeCert, { certificate: der.toString('base64url') });
      expect(r.status).toBe(403);
      expect(r.json.type).toBe(err('unauthorized'));
      // Signed by a jwk that is not the certificate's key.
      const byJwk = await stranger.post(stranger.dir.revokeCert, { certificate: der.toString('base64url') }, { jwk: true });
      expect(byJwk.json.type).toBe(err('unauthorized'));
      const [row] = await t.ctx.db.select().from(certificates).where(eq(certificates.der, der));
      expect(row.status).toBe('valid');

      expect((await client.post(client.dir.revokeCert, { certificate: der.toString('base64url'), reason: 7 })).json.type).toBe(err('badRevocationReason'));
      const ok = await client.post(client.dir.revokeCert, { certificate: der.toString('base64url'), reason: 1 });
      expect(ok.status).toBe(200);
      const [after] = await t.ctx.db.select().from(certificates).where(eq(certificates.der, der));
      expect(after.status).toBe('revoked');
      expect(after.revocationReason).toBe(1);
    });

    it('allows an account holding valid authorizations for every name (reason 0 or 5), not one missing a name or holding an expired one', async () => {
      const names = [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }];
      const csr = makeCsr({ sans: ['DNS:localhost', 'IP:127.0.0.1'] });
      const der = fromPem((await completeOrder(client, responder, names, csr.der)).pem, 'CERTIFICATE')[0];
      const revoke = (c: AcmeClient, reason: number) => c.post(c.dir.revokeCert, { certificate: der.toString('base64url'), reason });
      const statusOf = async () => (await t.ctx.db.select().from(certificates).where(eq(certificates.der, der)))[0];
      const holder = await newClient();
      await holder.newAccount();
      // Validates an authorization of one name for the holder (no certificate asked for).
      const authorize = async (id: { type: string; value: string }) => {
        const o = await holder.newOrder([id]);
        const a = await holder.get(o.json.authorizations[0]);
        const ch = a.json.challenges.find((x: any) => x.type === 'http-01');
        responder.tokens.set(ch.token, holder.keyAuthorization(ch.token));
        await holder.post(ch.url, {});
        expect((await holder.poll(o.json.authorizations[0])).json.status).toBe('valid');
        return o.json.authorizations[0].split('/').pop() as string;
      };
      await authorize(names[0]);
      const missing = await revoke(holder, 5);
      expect(missing.status).toBe(403);
      expect(missing.json.type).toBe(err('unauthorized'));
      const ipAuthz = await authorize(names[1]);
      await t.ctx.db.update(acmeAuthorizations).set({ expires: new Date(Date.now() - 1000) }).where(eq(acmeAuthorizations.id, ipAuthz));
      expect((await revoke(holder, 5)).json.type).toBe(err('unauthorized'));
      await t.ctx.db.update(acmeAuthorizations).set({ expires: new Date(Date.now() + 3600_000) }).where(eq(acmeAuthorizations.id, ipAuthz));
      // It speaks for the names, not for the subscriber's key: keyCompromise is the requester's to say.
      expect((await revoke(holder, 1)).json.type).toBe(err('badRevocationReason'));
      expect((await statusOf()).status).toBe('valid');
      const ok = await revoke(holder, 5);
      expect(ok.status).toBe(200);
      expect(await statusOf()).toMatchObject({ status: 'revoked', revocationReason: 5 });
    });

    it('a wildcard name needs a wildcard authorization of its base domain; a plain name any valid one', async () => {
      const acct = `acct-${Date.now()}`;
      const row = (id: string, value: string, wildcard: boolean, status = 'valid') => ({
        id: `${acct}-${id}`, accountId: acct, orderId: `${acct}-o`, identifierType: 'dns', identifierValue: value, wildcard, status, expires: new Date(Date.now() + 3600_000),
      });
      const holds = (...values: string[]) => holdsAuthorizationsFor(t.ctx.db, acct, values.map((value) => ({ type: 'dns' as const, value })));
      await t.ctx.db.insert(acmeAuthorizations).values([row('a', 'wild.example', false), row('b', 'gone.example', true, 'deactivated')]);
      expect(await holds('*.wild.example')).toBe(false);
      expect(await holds('WILD.example')).toBe(true);
      expect(await holds('*.gone.example')).toBe(false);
      await t.ctx.db.insert(acmeAuthorizations).values([row('c', 'wild.example', true)]);
      expect(await holds('*.wild.example', 'wild.example')).toBe(true);
      expect(await holds('*.wild.example', 'other.example')).toBe(false);
      expect(await holds()).toBe(false);
      expect(await holdsAuthorizationsFor(t.ctx.db, acct, [{ type: 'email', value: 'a@wild.example' }])).toBe(false);
      expect(await holdsAuthorizationsFor(t.ctx.db, 'another-account', [{ type: 'dns', value: 'wild.example' }])).toBe(false);
    });
  });
});
