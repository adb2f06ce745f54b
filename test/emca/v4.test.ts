/**
 * emCA Open API V4 (spec §2-§4): every method's success path and the documented failures, over
 * real HTTP handling (app.request on buildApp), a real database, real AES, and CMS signatures
 * made by `openssl cms`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificates } from '../../src/db/schema.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import {
  adminToken,
  call,
  cmsSign,
  foreignSigner,
  makeApp,
  makeCsr,
  openssl,
  opensslTry,
  register,
  removeTempDirs,
  serialOf,
  tempDir,
  x509Text,
  type Registered,
} from './helpers.ts';

afterAll(() => removeTempDirs());

for (const driver of drivers) {
  describe(`emCA V4 (${driver})`, () => {
    let t: TestContext;
    let app: Hono<AppEnv>;
    let admin: string;
    let client: Registered;
    let other: Registered;

    beforeAll(async () => {
      t = await makeTestContext(driver, { trustedProxies: '10.9.9.9' });
      app = await makeApp(t.ctx);
      admin = await adminToken(t.ctx);
      client = await register(app, admin, { name: 'app1', ips: ['127.0.0.1', '192.168.10.0/24'] });
      other = await register(app, admin, { name: 'app2', ips: ['127.0.0.1'] });
    });
    afterAll(async () => {
      await t?.cleanup();
    });

    const sign = (content: string | Buffer, who: Registered = client, stream = false) => cmsSign(content, who, { stream });
    let appSeq = 0;
    const appId = () => `app-${Date.now()}-${appSeq++}`;

    async function issueCert(who: Registered = client, subject = '/CN=alice/O=Acme'): Promise<string> {
      const csr = makeCsr(subject);
      const r = await call(app, who, 'createCertificate', {
        signature: sign(csr, who),
        profileName: 'tls-client',
        subscriberId: 'sub-1',
        applicationId: appId(),
      });
      expect(r.body.status).toBe('success');
      return r.body.result!;
    }

    // ── registration ─────────────────────────────────────────────────────────

    it('registration returns every secret once; the PFX opens with openssl; list shows none of them', async () => {
      expect(Buffer.from(client.aesKey, 'base64')).toHaveLength(32);
      expect(client.emKey).toMatch(/^[0-9a-f]{40}$/);
      const d = tempDir();
      writeFileSync(join(d, 'p.p12'), Buffer.from(client.pfx, 'base64'));
      const info = opensslTry(['pkcs12', '-info', '-noout', '-in', join(d, 'p.p12'), '-passin', `pass:${client.pfxPassword}`]);
      expect(info.status).toBe(0);
      expect(info.out).toMatch(/AES-256-CBC/);
      const cert = openssl(['x509', '-in', client.certPem, '-noout', '-subject', '-issuer']).toString();
      expect(cert).toMatch(/CN ?= ?app1/);

      const res = await app.request('/api/v1/emca/clients', { headers: { Authorization: `Bearer ${await adminToken(t.ctx, 'auditor')}` } });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('app1');
      expect(text).not.toContain(client.password);
      expect(text).not.toContain(client.aesKey);
      expect(text).not.toContain(client.emKey);

      const denied = await app.request('/api/v1/emca/clients', {
        method: 'POST',
        headers: { Authorization: `Bearer ${await adminToken(t.ctx, 'auditor')}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'nope', ips: ['127.0.0.1'] }),
      });
      expect(denied.status).toBe(403);
      expect((await app.request('/api/v1/emca/clients')).status).toBe(401);
      const dup = await app.request('/api/v1/emca/clients', {
        method: 'POST',
        headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'app1', ips: ['127.0.0.1'] }),
      });
      expect(dup.status).toBe(409);
      const badIp = await app.request('/api/v1/emca/clients', {
        method: 'POST',
        headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'app9', ips: ['300.1.1.1'] }),
      });
      expect(badIp.status).toBe(400);
    });

    // ── createCertificate and friends ────────────────────────────────────────

    it('createCertificate returns base64 DER (openssl reads it) and echoes subscriberId', async () => {
      const csr = makeCsr('/CN=alice/O=Acme');
      const r = await call(app, client, 'createCertificate', { signature: sign(csr), profileName: 'tls-client', subscriberId: 'sub-42', applicationId: appId() });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'success', subscriberId: 'sub-42', requestId: null });
      const text = x509Text(r.body.result!);
      expect(text).toMatch(/Subject: O ?= ?Acme, CN ?= ?alice/);
      expect(text).toMatch(/TLS Web Client Authentication/);
    });

    it('accepts a BER (indefinite-length, streamed) signature, encodedString, lower-case method path and odd key casing', async () => {
      const csr = makeCsr('/CN=ber');
      const r = await call(
        app,
        client,
        'CREATECERTIFICATE',
        { SIGNATURE: sign(csr, client, true), ProfileName: 'tls-client', SubscriberID: 's', ApplicationId: appId() },
        { field: 'encodedString' },
      );
      expect(r.body.status).toBe('success');
      // The streamed form really is BER: indefinite length right after the ContentInfo tag.
      expect(Buffer.from(sign(csr, client, true), 'base64').subarray(0, 2).toString('hex')).toBe('3080');
    });

    it('createCertificateP7B returns a certs-only PKCS#7 with the chain', async () => {
      const r = await call(app, client, 'createCertificateP7B', { signature: sign(makeCsr('/CN=p7')), profileName: 'tls-client', subscriberId: 's', applicationId: appId() });
      expect(r.body.status).toBe('success');
      const d = tempDir();
      writeFileSync(join(d, 'b.p7b'), Buffer.from(r.body.result!, 'base64'));
      const out = openssl(['pkcs7', '-inform', 'DER', '-in', join(d, 'b.p7b'), '-print_certs', '-noout']).toString();
      expect(out.match(/subject=/g)).toHaveLength(3);
      expect(out).toMatch(/CN ?= ?p7/);
    });

    it('createCertificateById / createCertificateP7BById honour validity D:H:M:S and validFrom', async () => {
      const list = await call(app, client, 'getCertificateProfileList', { signature: sign(t.ctx.issuers.defaultIssuer()!.name) });
      const profiles = JSON.parse(list.body.result!) as { profileId: string; profileName: string }[];
      const id = profiles.find((p) => p.profileName === 'tls-client')!.profileId;
      expect(id).toMatch(/^\d+$/);
      const r = await call(app, client, 'createCertificateById', {
        signature: sign(makeCsr('/CN=byid')),
        ProfileID: id,
        subscriberId: 's',
        applicationId: appId(),
        validity: '30:0:0:0',
      });
      expect(r.body.status).toBe('success');
      const [row] = await t.ctx.db.select().from(certificates).where(eq(certificates.der, Buffer.from(r.body.result!, 'base64')));
      const days = (row.notAfter.getTime() - Date.now()) / 86400_000;
      expect(days).toBeGreaterThan(29.9);
      expect(days).toBeLessThan(30.1);

      const from = new Date(Date.now() + 86400_000);
      const p2 = (n: number) => String(n).padStart(2, '0');
      const validFrom = `${p2(from.getUTCDate())}:${p2(from.getUTCMonth() + 1)}:${from.getUTCFullYear()} 10:00:00`;
      const r2 = await call(app, client, 'createCertificateP7BById', { signature: sign(makeCsr('/CN=byid2')), profileId: id, subscriberId: 's', applicationId: appId(), validFrom });
      expect(r2.body.status).toBe('success');

      for (const [validity, msg] of [
        ['400:99:00:00', 'Invalid validity'],
        ['abc', 'Invalid validity'],
        ['99999:0:0:0', 'Invalid validity'],
      ]) {
        const bad = await call(app, client, 'createCertificateById', { signature: sign(makeCsr()), ProfileID: id, subscriberId: 's', applicationId: appId(), validity });
        expect(bad.body).toEqual({ status: 'failure', result: msg, subscriberId: null, requestId: null });
      }
      const badFrom = await call(app, client, 'createCertificateById', { signature: sign(makeCsr()), ProfileID: id, subscriberId: 's', applicationId: appId(), validFrom: '32:13:2020 00:00:00' });
      expect(badFrom.body.result).toBe('Invalid From Date');
      const unknownId = await call(app, client, 'createCertificateById', { signature: sign(makeCsr()), ProfileID: '99999', subscriberId: 's', applicationId: appId() });
      expect(unknownId.body.result).toBe('99999 profile does not exist');
    });

    it('unknown profile, missing parameter and a bad CSR get their documented strings', async () => {
      const unknown = await call(app, client, 'createCertificate', { signature: sign(makeCsr()), profileName: 'no-such', subscriberId: 's', applicationId: appId() });
      expect(unknown.body).toEqual({ status: 'failure', result: 'Invalid Certificate Profile', subscriberId: null, requestId: null });
      const missing = await call(app, client, 'createCertificate', { signature: sign(makeCsr()), profileName: 'tls-client', subscriberId: 's' });
      expect(missing.body.result).toBe('Invalid parameter');
      const longId = await call(app, client, 'createCertificate', { signature: sign(makeCsr()), profileName: 'tls-client', subscriberId: 's', applicationId: 'x'.repeat(201) });
      expect(longId.body.result).toBe('Invalid parameter');
      const badCsr = await call(app, client, 'createCertificate', { signature: sign('not a csr'), profileName: 'tls-client', subscriberId: 's', applicationId: appId() });
      expect(badCsr.body.result).toBe('Please enter valid data');
      // A CSR whose subject the profile refuses (tls-client requires CN).
      const noCn = await call(app, client, 'createCertificate', { signature: sign(makeCsr('/O=Acme')), profileName: 'tls-client', subscriberId: 's', applicationId: appId() });
      expect(noCn.body.result).toBe('Please enter valid data');
    });

    // ── authentication failures ─────────────────────────────────────────────

    it('wrong AES key → "Invalid input data"; wrong password, IP, emKey or user → "Invalid request details found"', async () => {
      const inner = { signature: sign(makeCsr()), profileName: 'tls-client', subscriberId: 's', applicationId: appId() };
      const before = await t.ctx.db.select({ n: sql<number>`count(*)::int` }).from(certificates);
      const wrongKey = await call(app, client, 'createCertificate', inner, { aesKey: Buffer.alloc(32, 7).toString('base64') });
      expect(wrongKey.body).toEqual({ status: 'failure', result: 'Invalid input data', subscriberId: null, requestId: null });
      const otherKey = await call(app, client, 'createCertificate', inner, { aesKey: other.aesKey });
      expect(otherKey.body.result).toBe('Invalid input data');
      const wrongPw = await call(app, { ...client, password: 'wrong' }, 'createCertificate', inner);
      expect(wrongPw.body.result).toBe('Invalid request details found');
      const wrongIp = await call(app, client, 'createCertificate', inner, { ip: '10.1.2.3' });
      expect(wrongIp.body.result).toBe('Invalid request details found');
      const inRange = await call(app, client, 'createCertificate', { ...inner, applicationId: appId() }, { ip: '::ffff:192.168.10.77' });
      expect(inRange.body.status).toBe('success');
      const wrongEmKey = await call(app, client, 'createCertificate', inner, { emKey: 'ab'.repeat(20) });
      expect(wrongEmKey.body.result).toBe('Invalid request details found');
      const noEmKey = await call(app, client, 'createCertificate', inner, { emKey: null });
      expect(noEmKey.body.result).toBe('Invalid request details found');
      const noUser = await call(app, client, 'createCertificate', inner, { userName: 'ghost' });
      expect(noUser.body.result).toBe('Invalid request details found');
      // Another client's credentials inside this client's envelope.
      const mixed = await call(app, { ...client, password: other.password }, 'createCertificate', { ...inner, userName: 'app2' });
      expect(mixed.body.result).toBe('Invalid request details found');
      const after = await t.ctx.db.select({ n: sql<number>`count(*)::int` }).from(certificates);
      expect(after[0].n).toBe(before[0].n + 1); // only the in-range call issued
    });

    it('X-Forwarded-For counts only when the TCP peer is a trusted proxy', async () => {
      const inner = () => ({ signature: sign(makeCsr()), profileName: 'tls-client', subscriberId: 's', applicationId: appId() });
      const viaProxy = await call(app, client, 'createCertificate', inner(), { ip: '10.9.9.9', headers: { 'X-Forwarded-For': '192.168.10.5' } });
      expect(viaProxy.body.status).toBe('success');
      const spoofed = await call(app, client, 'createCertificate', inner(), { ip: '10.1.1.1', headers: { 'X-Forwarded-For': '127.0.0.1' } });
      expect(spoofed.body.result).toBe('Invalid request details found');
      const proxyOutside = await call(app, client, 'createCertificate', inner(), { ip: '10.9.9.9', headers: { 'X-Forwarded-For': '8.8.8.8' } });
      expect(proxyOutside.body.result).toBe('Invalid request details found');
    });

    it('tampered, foreign, other-client and detached signatures → "Signature verification failed"', async () => {
      const csr = makeCsr();
      const good = Buffer.from(sign(csr), 'base64');
      const i = good.indexOf(csr.subarray(40, 56));
      expect(i).toBeGreaterThan(0);
      const tampered = Buffer.from(good);
      tampered[i + 3] ^= 0x01;
      const base = { profileName: 'tls-client', subscriberId: 's', applicationId: appId() };
      for (const signature of [
        tampered.toString('base64'),
        cmsSign(csr, foreignSigner()),
        sign(csr, other),
        'bm90IGEgY21z',
      ]) {
        const r = await call(app, client, 'createCertificate', { ...base, signature });
        expect(r.body).toEqual({ status: 'failure', result: 'Signature verification failed', subscriberId: null, requestId: null });
      }
      const d = tempDir();
      writeFileSync(join(d, 'c'), csr);
      const detached = openssl(['cms', '-sign', '-binary', '-outform', 'DER', '-signer', client.certPem, '-inkey', client.keyPem, '-in', join(d, 'c')]).toString('base64');
      expect((await call(app, client, 'createCertificate', { ...base, signature: detached })).body.result).toBe('Signature verification failed');
    });

    it('an oversized body is refused with 413 before any decryption', async () => {
      const big = 'A'.repeat(300 * 1024);
      const res = await app.request(
        '/emCAServices/rest/createCertificate',
        { method: 'POST', headers: { 'Content-Type': 'application/json', emKey: client.emKey }, body: JSON.stringify({ requestData: big, userName: 'app1' }) },
        { incoming: { socket: { remoteAddress: '127.0.0.1' } } },
      );
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ status: 'failure', result: 'Request body too large', subscriberId: null, requestId: null });
      // The same junk under the limit reaches decryption and fails there: the 413 came first.
      const small = await app.request(
        '/emCAServices/rest/createCertificate',
        { method: 'POST', headers: { 'Content-Type': 'application/json', emKey: client.emKey }, body: JSON.stringify({ requestData: 'A'.repeat(1024), userName: 'app1' }) },
        { incoming: { socket: { remoteAddress: '127.0.0.1' } } },
      );
      expect(((await small.json()) as { result: string }).result).toBe('Invalid input data');
      const junk = await app.request('/emCAServices/rest/createCertificate', { method: 'POST', body: '{nope' });
      expect(junk.status).toBe(200);
      expect(((await junk.json()) as { result: string }).result).toBe('Invalid parameter');
      const unknownMethod = await app.request('/emCAServices/rest/doSomething', { method: 'POST', body: '{}' });
      expect(unknownMethod.status).toBe(404);
    });

    // ── idempotency ───────────────────────────────────────────────────────────

    it('20 concurrent calls with one applicationId give one certificate', async () => {
      const applicationId = appId();
      const csr = makeCsr('/CN=concurrent');
      const signature = sign(csr);
      const results = await Promise.all(
        Array.from({ length: 20 }, () => call(app, client, 'createCertificate', { signature, profileName: 'tls-client', subscriberId: 's', applicationId })),
      );
      const certs = new Set(results.map((r) => r.body.result));
      expect(results.every((r) => r.body.status === 'success')).toBe(true);
      expect(certs.size).toBe(1);
      const rows = await t.ctx.db
        .select({ n: sql<number>`count(*)::int` })
        .from(certificates)
        .where(sql`${certificates.metadata}->>'applicationId' = ${applicationId}`);
      expect(rows[0].n).toBe(1);
      // A replay later (different CSR even) returns the same certificate.
      const replay = await call(app, client, 'createCertificate', { signature: sign(makeCsr('/CN=other')), profileName: 'tls-client', subscriberId: 's', applicationId });
      expect(replay.body.result).toBe([...certs][0]);
      // Another client may use the same applicationId for its own certificate.
      const theirs = await call(app, other, 'createCertificate', { signature: sign(csr, other), profileName: 'tls-client', subscriberId: 's', applicationId });
      expect(theirs.body.status).toBe('success');
      expect(theirs.body.result).not.toBe([...certs][0]);
    });

    // ── PKCS#12 ───────────────────────────────────────────────────────────────

    it('createPKCS12 generates the key into a PFX openssl opens; a replay and getPKCS12 return the same PFX', async () => {
      const applicationId = appId();
      const content = 'CN=Bob Smith~O=Acme~OU=Ops~rfc822Name=bob@example.com~KeyAlogirthmAndSize=RSA-2048~Password=pfx-secret';
      const r = await call(app, client, 'createPKCS12', { signature: sign(content), profileName: 'tls-client', subscriberId: 'sub-bob', applicationId });
      expect(r.body).toMatchObject({ status: 'success', subscriberId: 'sub-bob', requestId: null });
      const d = tempDir();
      const p = join(d, 'b.p12');
      writeFileSync(p, Buffer.from(r.body.result!, 'base64'));
      const info = opensslTry(['pkcs12', '-info', '-noout', '-in', p, '-passin', 'pass:pfx-secret']);
      expect(info.status).toBe(0);
      expect(info.out).toMatch(/PBES2, PBKDF2, AES-256-CBC/);
      const certPem = openssl(['pkcs12', '-in', p, '-passin', 'pass:pfx-secret', '-nokeys', '-clcerts']).toString();
      const text = openssl(['x509', '-noout', '-text'], certPem).toString();
      expect(text).toMatch(/CN ?= ?Bob Smith/);
      expect(text).toMatch(/email:bob@example.com/);
      expect(text).toMatch(/Public-Key: \(2048 bit\)/);
      const keyPem = openssl(['pkcs12', '-in', p, '-passin', 'pass:pfx-secret', '-nocerts', '-nodes']).toString();
      expect(keyPem).toMatch(/PRIVATE KEY/);
      expect(opensslTry(['pkcs12', '-info', '-noout', '-in', p, '-passin', 'pass:wrong']).status).not.toBe(0);

      const replay = await call(app, client, 'createPKCS12', { signature: sign(content), profileName: 'tls-client', subscriberId: 'sub-bob', applicationId });
      expect(replay.body.result).toBe(r.body.result);

      const serial = openssl(['x509', '-noout', '-serial'], certPem).toString().trim().replace(/^serial=/, '');
      const javaSerial = BigInt('0x' + serial).toString(16); // no leading zeros, lower case
      const got = await call(app, client, 'getPKCS12', { signature: sign(`{'pfxPin': 'pfx-secret','serialNumber':'${javaSerial}','subscriberId':'sub-bob'}`) });
      expect(got.body.status).toBe('success');
      expect(got.body.result).toBe(r.body.result);
      const wrongPin = await call(app, client, 'getPKCS12', { signature: sign(`{'pfxPin': 'nope','serialNumber':'${serial}','subscriberId':'sub-bob'}`) });
      expect(wrongPin.body.result).toBe('Invalid PFX password');
      const notMine = await call(app, other, 'getPKCS12', { signature: sign(`{'pfxPin': 'pfx-secret','serialNumber':'${serial}','subscriberId':'sub-bob'}`, other) });
      expect(notMine.body.result).toBe('Certificate not found');
    });

    it('createPKCS12 refusals: RSA-1024, no CN, unknown profile; createPKCS12ById; legacy 3DES PFX', async () => {
      const bad = async (content: string, profileName = 'tls-client') =>
        (await call(app, client, 'createPKCS12', { signature: sign(content), profileName, subscriberId: 's', applicationId: appId() })).body.result;
      expect(await bad('CN=x~KeyAlogirthmAndSize=RSA-1024~Password=p')).toBe('Please enter valid data');
      expect(await bad('CN=x~KeyAlogirthmAndSize=DSA-9~Password=p')).toBe('Please enter valid data');
      expect(await bad('O=x~KeyAlogirthmAndSize=RSA-2048~Password=p')).toBe('Please enter valid data');
      expect(await bad('CN=x~KeyAlogirthmAndSize=RSA-2048~Password=p', 'nope')).toBe('Invalid Certificate Profile');
      expect(await bad('CN=x~KeyAlogirthmAndSize=RSA-2048')).toBe('Invalid parameter');
      // An applicationId already used for a certificate from a CSR: there is no key for a PFX.
      const used = appId();
      await call(app, client, 'createCertificate', { signature: sign(makeCsr()), profileName: 'tls-client', subscriberId: 's', applicationId: used });
      const clash = await call(app, client, 'createPKCS12', { signature: sign('CN=x~KeyAlogirthmAndSize=EC-P256~Password=p'), profileName: 'tls-client', subscriberId: 's', applicationId: used });
      expect(clash.status).toBe(200);
      expect(clash.body.result).toBe('Invalid parameter');

      const patch = await app.request(`/api/v1/emca/clients/${other.id}`, {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ legacyPfx: true }),
      });
      expect(patch.status).toBe(200);
      const ids = JSON.parse((await call(app, other, 'getCertificateProfileList', { signature: sign(t.ctx.issuers.defaultIssuer()!.name, other) })).body.result!);
      const id = ids.find((p: { profileName: string }) => p.profileName === 'tls-client').profileId;
      const r = await call(app, other, 'createPKCS12ById', {
        signature: sign('CN=Legacy,O=Old Corp,KeyAlogirthmAndSize=EC-P256,Password=old', other),
        profileID: id,
        subscriberId: 's',
        applicationId: appId(),
        validity: '10:0:0:0',
      });
      expect(r.body.status).toBe('success');
      const d = tempDir();
      writeFileSync(join(d, 'l.p12'), Buffer.from(r.body.result!, 'base64'));
      const info = opensslTry(['pkcs12', '-info', '-noout', '-in', join(d, 'l.p12'), '-passin', 'pass:old']);
      expect(info.status).toBe(0);
      expect(info.out).toMatch(/DES-EDE3-CBC/);
      expect(info.out).toMatch(/MAC: sha1/);
    });

    // ── lifecycle ─────────────────────────────────────────────────────────────

    it('getCertificate, suspend, reinstate, revoke (CRL lists it) with their refusals', async () => {
      const cert = await issueCert();
      const serial = serialOf(cert);
      const got = await call(app, client, 'getCertificate', { signature: sign(serial) });
      expect(got.body).toMatchObject({ status: 'success', result: cert, subscriberId: 'sub-1' });
      expect((await call(app, other, 'getCertificate', { signature: sign(serial, other) })).body.result).toBe('Certificate not found');
      expect((await call(app, client, 'getCertificate', { signature: sign('zz-not-hex') })).body.result).toBe('Certificate not found');

      const remarks = 'test';
      expect((await call(app, client, 'suspend', { signature: sign(serial), revokeMode: '1', remarks })).body.result).toBe('Invalid revokeMode');
      expect((await call(app, client, 'reinstate', { signature: sign(serial), remarks })).body.result).toBe('Certificate is not suspended');
      const s = await call(app, client, 'suspend', { signature: sign(serial), revokeMode: '', remarks });
      expect(s.body).toMatchObject({ status: 'success', result: 'Certificate suspended successfully' });
      const row = async () => (await t.ctx.db.select().from(certificates).where(eq(certificates.serial, serial.toLowerCase())))[0];
      expect((await row()).status).toBe('hold');
      expect((await call(app, client, 'suspend', { signature: sign(serial), revokeMode: 6, remarks })).body.result).toBe('Certificate is not active');
      const re = await call(app, client, 'reinstate', { signature: sign(serial), remarks });
      expect(re.body.result).toBe('Certificate reinstated successfully');
      expect((await row()).status).toBe('valid');

      expect((await call(app, client, 'revoke', { signature: sign(serial), revokeMode: 7, remarks })).body.result).toBe('Invalid revokeMode');
      expect((await call(app, client, 'revoke', { signature: sign(serial), remarks })).body.result).toBe('Invalid parameter');
      expect((await call(app, client, 'revoke', { signature: sign(serial), revokeMode: 1 })).body.result).toBe('Invalid parameter');
      const rv = await call(app, client, 'revoke', { signature: sign(serial), revokeMode: 1, remarks: 'key lost' });
      expect(rv.body.result).toBe('Certificate revoked successfully');
      expect((await row()).revocationReason).toBe(1);
      expect((await call(app, client, 'revoke', { signature: sign(serial), revokeMode: 1, remarks })).body.result).toBe('Certificate already revoked');

      const r = await row();
      const crl = await t.ctx.crls.latest(r.issuerId);
      const d = tempDir();
      writeFileSync(join(d, 'c.crl'), crl!.der);
      const crlText = openssl(['crl', '-inform', 'DER', '-in', join(d, 'c.crl'), '-noout', '-text']).toString();
      expect(crlText.toUpperCase()).toContain(serial.toUpperCase());
      expect(crlText).toMatch(/Key Compromise/);
    });

    it('rekey issues a new certificate with the old subject and supersedes the old one', async () => {
      const cert = await issueCert(client, '/CN=rekeyme/O=Acme');
      const serial = serialOf(cert);
      const sameKey = await call(app, client, 'rekey', { signature: sign(makeCsr('/CN=whatever')), serialNo: 'ffff', remarks: 'x', applicationId: appId() });
      expect(sameKey.body.result).toBe('Invalid serial number');
      const r = await call(app, client, 'rekey', { signature: sign(makeCsr('/CN=ignored')), serialNo: serial, remarks: 'lost', applicationId: appId() });
      expect(r.body.status).toBe('success');
      const text = x509Text(r.body.result!);
      expect(text).toMatch(/CN ?= ?rekeyme/);
      const [old] = await t.ctx.db.select().from(certificates).where(eq(certificates.serial, serial.toLowerCase()));
      expect(old.status).toBe('revoked');
      expect(old.revocationReason).toBe(4);
      const again = await call(app, client, 'rekey', { signature: sign(makeCsr()), serialNo: serial, remarks: 'x', applicationId: appId() });
      expect(again.body.result).toBe('Certificate already revoked');
    });

    it('verifySignature: trusted signer ok; revoked signer, untrusted signer, tampered data refused', async () => {
      const ok = await call(app, client, 'verifySignature', { signature: sign('any data to be signed') });
      expect(ok.body).toMatchObject({ status: 'success', result: 'Signature verified successfully' });
      expect((await call(app, client, 'verifySignature', { signature: cmsSign('x', foreignSigner()) })).body.result).toBe('Untrusted certificate');
      const good = Buffer.from(sign('tamper me please'), 'base64');
      const i = good.indexOf(Buffer.from('tamper me'));
      good[i] ^= 1;
      expect((await call(app, client, 'verifySignature', { signature: good.toString('base64') })).body.result).toBe('Signature verification failed');
    });

    it('several CSRs in one call: ID|csr~ID|csr → ID|cert~ID|cert; replay identical', async () => {
      const ids = JSON.parse((await call(app, client, 'getCertificateProfileList', { signature: sign(t.ctx.issuers.defaultIssuer()!.name) })).body.result!);
      const id = ids.find((p: { profileName: string }) => p.profileName === 'tls-client').profileId;
      const content = `A1|${makeCsr('/CN=one').toString('base64')}~B2|${makeCsr('/CN=two').toString('base64')}`;
      const applicationId = appId();
      const r = await call(app, client, 'createX509CertificatesByIdWithMultipleCsrData', { signature: sign(content), profileID: id, subscriberId: 's', applicationId });
      expect(r.body.status).toBe('success');
      const parts = r.body.result!.split('~').map((p) => p.split('|'));
      expect(parts.map((p) => p[0])).toEqual(['A1', 'B2']);
      expect(x509Text(parts[0][1])).toMatch(/CN ?= ?one/);
      expect(x509Text(parts[1][1])).toMatch(/CN ?= ?two/);
      const replay = await call(app, client, 'createCertificatesByIdWithMultipleCsrData', { signature: sign(content), profileID: id, subscriberId: 's', applicationId });
      expect(replay.body.result).toBe(r.body.result);
      const bad = await call(app, client, 'createCertificatesByIdWithMultipleCsrData', {
        signature: sign(`A|${makeCsr().toString('base64')}~B|bm9wZQ==`),
        profileID: id,
        subscriberId: 's',
        applicationId: appId(),
      });
      expect(bad.body.result).toBe('Please enter valid data');
    });

    it('createCustomCertificateById / createCustomerCertificateById / eSign: subject and SANs from the request', async () => {
      const ids = new Map<string, string>();
      for (const p of JSON.parse((await call(app, client, 'getCertificateProfileList', { signature: sign(t.ctx.issuers.defaultIssuer()!.name) })).body.result!)) ids.set(p.profileName, p.profileId);
      const base = { profileID: ids.get('tls-server'), subscriberId: 's', subjectDNOids: '2.5.4.3|www.example.com~2.5.4.10|Example Ltd', sANValues: 'dNSName=www.example.com|dNSName=api.example.com|iPAddress=10.0.0.1' };
      const r = await call(app, client, 'createCustomerCertificateById', { ...base, signature: sign(makeCsr('/CN=from-csr')), applicationId: appId(), isP7BRequest: 'false' });
      expect(r.body.status).toBe('success');
      const text = x509Text(r.body.result!);
      expect(text).toMatch(/Subject: O ?= ?Example Ltd, CN ?= ?www.example.com/);
      expect(text).toMatch(/DNS:api.example.com/);
      expect(text).toMatch(/IP Address:10.0.0.1/);

      const unsigned = await call(app, client, 'createCustomCertificateById', { ...base, isSignedData: 'false', csrData: makeCsr().toString('base64'), applicationId: appId(), isP7BRequest: 'true' });
      expect(unsigned.body.status).toBe('success');
      const d = tempDir();
      writeFileSync(join(d, 'x.p7b'), Buffer.from(unsigned.body.result!, 'base64'));
      expect(openssl(['pkcs7', '-inform', 'DER', '-in', join(d, 'x.p7b'), '-print_certs', '-noout']).toString()).toMatch(/www.example.com/);

      const esign = await call(app, client, 'createeSignCustomerCertificateById', { ...base, profileId: ids.get('tls-server'), signature: makeCsr().toString('base64'), applicationId: appId(), isP7BRequest: 'false' });
      expect(esign.body.status).toBe('success');
      const esignCms = await call(app, client, 'createeSignCustomCertificateById', { ...base, signature: sign(makeCsr()), applicationId: appId(), isP7BRequest: 'false' });
      expect(esignCms.body.status).toBe('success');

      expect((await call(app, client, 'createCustomCertificateById', { ...base, subjectDNOids: 'CN=x', signature: sign(makeCsr()), applicationId: appId(), isP7BRequest: 'false' })).body.result).toBe('Invalid subjectDNOids');
      expect((await call(app, client, 'createCustomCertificateById', { ...base, sANValues: 'registeredID=1.2.3', signature: sign(makeCsr()), applicationId: appId(), isP7BRequest: 'false' })).body.result).toBe('Invalid sANValues');
      expect((await call(app, client, 'createCustomCertificateById', { ...base, sANValues: 'dNSName=*.evil..com', signature: sign(makeCsr()), applicationId: appId(), isP7BRequest: 'false' })).body.result).toBe('Invalid sANValues');
    });

    it('getExpirySoonCertificate, getProfileinfoByProfilename, getCertificateProfileList', async () => {
      await issueCert();
      const soon = await call(app, client, 'getExpirySoonCertificate', { signature: sign('400'), noOfDaysToExpirySoon: '400', subscriberId: 'sub-1' });
      expect(soon.body.status).toBe('success');
      const list = JSON.parse(soon.body.result!) as { serialNumber: string; notAfter: string; subscriberId: string }[];
      expect(list.length).toBeGreaterThan(0);
      expect(list.every((x) => x.subscriberId === 'sub-1')).toBe(true);
      expect(list[0].notAfter).toMatch(/^\d{2}:\d{2}:\d{4} \d{2}:\d{2}:\d{2}$/);
      const none = await call(app, client, 'getExpirySoonCertificate', { signature: sign('1'), noOfDaysToExpirySoon: '1' });
      expect(none.body).toMatchObject({ status: 'success', result: 'No Certificate is available for the specified time period' });
      expect((await call(app, client, 'getExpirySoonCertificate', { signature: sign('5'), noOfDaysToExpirySoon: '6' })).body.result).toBe('Invalid parameter');

      const info = await call(app, client, 'getProfileinfoByProfilename', { signature: sign('tls-client') });
      expect(info.body.status).toBe('success');
      expect(JSON.parse(info.body.result!)).toMatchObject({ profileName: 'tls-client', supportCustomizedValidity: true, manualAuthorization: false });
      expect((await call(app, client, 'getProfileinfoByProfilename', { signature: sign('eMudhra demo') })).body.result).toBe('Invalid Certificate Profile name');
      expect((await call(app, client, 'getProfileinfoByProfilename', { signature: cmsSign('tls-client', foreignSigner()) })).body.result).toBe('Signature verification failed');
      expect((await call(app, client, 'getCertificateProfileList', { signature: sign('No Such CA') })).body.result).toBe('Invalid CA name');
    });

    // ── manual authorization ─────────────────────────────────────────────────

    it('manual authorization: requestId, Pending, officer approves via the admin API, then the artefact', async () => {
      await t.ctx.profiles.create({ name: 'emca-manual', manualApproval: true, subject: { attributes: [{ type: 'CN', rule: 'required' }] }, extendedKeyUsage: ['clientAuth'] }).catch(() => {});
      const applicationId = appId();
      const r = await call(app, client, 'createCertificate', { signature: sign(makeCsr('/CN=manual')), profileName: 'emca-manual', subscriberId: 'm', applicationId });
      expect(r.body).toMatchObject({ status: 'success', result: ' your request proceded sucssusfully', subscriberId: 'm' });
      const requestId = r.body.requestId!;
      expect(requestId).toBeTruthy();
      const replay = await call(app, client, 'createCertificate', { signature: sign(makeCsr('/CN=manual')), profileName: 'emca-manual', subscriberId: 'm', applicationId });
      expect(replay.body.requestId).toBe(requestId);

      const pending = await call(app, client, 'getCertificateByRequestID', { signature: sign(requestId) });
      expect(pending.body).toMatchObject({ status: 'Pending', result: 'Request is pending for authorization' });
      expect((await call(app, other, 'getCertificateByRequestID', { signature: sign(requestId, other) })).body.result).toBe('Invalid request id');
      expect((await call(app, client, 'getCertificateByRequestID', { signature: sign('00000000-0000-0000-0000-000000000000') })).body.result).toBe('Invalid request id');

      const officer = await adminToken(t.ctx, 'officer');
      const approve = await app.request(`/api/v1/requests/${requestId}/approve`, { method: 'POST', headers: { Authorization: `Bearer ${officer}` } });
      expect(approve.status).toBe(200);
      const done = await call(app, client, 'getCertificateByRequestID', { signature: sign(requestId) });
      expect(done.body).toMatchObject({ status: 'success', subscriberId: 'm' });
      expect(x509Text(done.body.result!)).toMatch(/CN ?= ?manual/);

      // PKCS#12 under manual authorization: the PFX exists once approved, with the requested password.
      const p = await call(app, client, 'createPKCS12', { signature: sign('CN=manual-pfx~KeyAlogirthmAndSize=EC-P256~Password=later'), profileName: 'emca-manual', subscriberId: 'm', applicationId: appId() });
      expect(p.body.requestId).toBeTruthy();
      await app.request(`/api/v1/requests/${p.body.requestId}/approve`, { method: 'POST', headers: { Authorization: `Bearer ${officer}` } });
      const pfx = await call(app, client, 'getCertificateByRequestID', { signature: sign(p.body.requestId!) });
      expect(pfx.body.status).toBe('success');
      const d = tempDir();
      writeFileSync(join(d, 'm.p12'), Buffer.from(pfx.body.result!, 'base64'));
      expect(opensslTry(['pkcs12', '-info', '-noout', '-in', join(d, 'm.p12'), '-passin', 'pass:later']).status).toBe(0);

      // Rejected.
      const rj = await call(app, client, 'createCertificate', { signature: sign(makeCsr('/CN=nope')), profileName: 'emca-manual', subscriberId: 'm', applicationId: appId() });
      await app.request(`/api/v1/requests/${rj.body.requestId}/reject`, { method: 'POST', headers: { Authorization: `Bearer ${officer}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ reason: 'no' }) });
      expect((await call(app, client, 'getCertificateByRequestID', { signature: sign(rj.body.requestId!) })).body.result).toBe('Request rejected');

      // eSign refuses manual-authorization profiles.
      const ids = JSON.parse((await call(app, client, 'getCertificateProfileList', { signature: sign(t.ctx.issuers.defaultIssuer()!.name) })).body.result!);
      const mid = ids.find((x: { profileName: string }) => x.profileName === 'emca-manual').profileId;
      const es = await call(app, client, 'createeSignCustomCertificateById', { profileId: mid, subscriberId: 's', subjectDNOids: '2.5.4.3|x', sANValues: '', signature: sign(makeCsr()), applicationId: appId(), isP7BRequest: 'false' });
      expect(es.body.result).toBe('Manual authorization profile not supported');
    });

    // ── client credential lifecycle ─────────────────────────────────────────

    it('a revoked client signing certificate is refused; an expired one too', async () => {
      const c3 = await register(app, admin, { name: 'app3', ips: ['127.0.0.1'] });
      const inner = () => ({ signature: sign(makeCsr(), c3), profileName: 'tls-client', subscriberId: 's', applicationId: appId() });
      expect((await call(app, c3, 'createCertificate', inner())).body.status).toBe('success');
      await t.ctx.revocation.revoke({ serial: c3.signingSerial, issuerId: c3.signingIssuerId }, 1, 'test');
      expect((await call(app, c3, 'createCertificate', inner())).body.result).toBe('Signature verification failed');
      // verifySignature names the reason for a signer of this CA.
      expect((await call(app, client, 'verifySignature', { signature: sign('data', c3) })).body.result).toBe('Certificate revoked');

      const c4 = await register(app, admin, { name: 'app4', ips: ['127.0.0.1'], signingValidity: '0:0:0:3' });
      const sig = sign(makeCsr(), c4);
      await new Promise((r) => setTimeout(r, 3500));
      const r = await call(app, c4, 'createCertificate', { signature: sig, profileName: 'tls-client', subscriberId: 's', applicationId: appId() });
      expect(r.body.result).toBe('Signature verification failed');
      expect((await call(app, client, 'verifySignature', { signature: sig })).body.result).toBe('Certificate expired');
    });

    it('AES CBC and GCM modes with the IV in front; disable and rotate', async () => {
      const c5 = await register(app, admin, { name: 'app5', ips: ['127.0.0.1'], aesMode: 'CBC' });
      const inner = () => ({ signature: sign(makeCsr(), c5), profileName: 'tls-client', subscriberId: 's', applicationId: appId() });
      expect((await call(app, c5, 'createCertificate', inner())).body.status).toBe('success');
      expect((await call(app, c5, 'createCertificate', inner(), { aesMode: 'ECB' })).body.result).toBe('Invalid input data');
      const h = { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' };
      await app.request(`/api/v1/emca/clients/app5`, { method: 'PATCH', headers: h, body: JSON.stringify({ aesMode: 'GCM' }) });
      expect((await call(app, { ...c5, aesMode: 'GCM' }, 'createCertificate', inner())).body.status).toBe('success');
      expect((await call(app, c5, 'createCertificate', inner())).body.result).toBe('Invalid input data');
      const c5g = { ...c5, aesMode: 'GCM' as const };

      expect((await app.request(`/api/v1/emca/clients/app5/disable`, { method: 'POST', headers: h })).status).toBe(200);
      expect((await call(app, c5g, 'createCertificate', inner())).body.result).toBe('Invalid request details found');
      await app.request(`/api/v1/emca/clients/app5/enable`, { method: 'POST', headers: h });
      expect((await call(app, c5g, 'createCertificate', inner())).body.status).toBe('success');

      const rot = await app.request(`/api/v1/emca/clients/app5/rotate`, { method: 'POST', headers: h, body: '{}' });
      expect(rot.status).toBe(200);
      const s = (await rot.json()) as Registered;
      expect(s.password).not.toBe(c5.password);
      expect((await call(app, c5g, 'createCertificate', inner())).body.result).toBe('Invalid request details found');
      expect((await call(app, { ...c5g, emKey: s.emKey, password: s.password }, 'createCertificate', inner())).body.result).toBe('Invalid input data');
      const d = tempDir();
      writeFileSync(join(d, 'r.p12'), Buffer.from(s.pfx, 'base64'));
      const certPem = join(d, 'r.crt');
      const keyPem = join(d, 'r.key');
      openssl(['pkcs12', '-in', join(d, 'r.p12'), '-passin', `pass:${s.pfxPassword}`, '-nokeys', '-clcerts', '-out', certPem]);
      openssl(['pkcs12', '-in', join(d, 'r.p12'), '-passin', `pass:${s.pfxPassword}`, '-nocerts', '-nodes', '-out', keyPem]);
      const c6: Registered = { ...s, aesMode: 'GCM', certPem, keyPem };
      expect((await call(app, c6, 'createCertificate', { ...inner(), signature: cmsSign(makeCsr(), c6) })).body.status).toBe('success');
      // The old signing credential is superseded.
      expect((await call(app, c6, 'createCertificate', inner())).body.result).toBe('Signature verification failed');
      const [old] = await t.ctx.db.select().from(certificates).where(and(eq(certificates.serial, c5.signingSerial), eq(certificates.issuerId, c5.signingIssuerId)));
      expect(old.status).toBe('revoked');
    });
  });
}
