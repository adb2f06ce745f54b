/**
 * The admin API end to end through the real Hono app: issuance from openssl CSRs, search,
 * revocation visible in the published CRL, suspension, manual approval, profiles, issuers,
 * operators and tokens, input validation, and the OpenAPI document's completeness.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/admin/openapi.ts';
import { adminRoutes } from '../../src/admin/routes.ts';
import type { Role } from '../../src/admin/tokens.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import { buildApp } from '../../src/server.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { call, cleanupWork, openssl, opensslCa, opensslCsr, roleTokens } from './helpers.ts';

afterAll(() => cleanupWork());

/** Serial as `openssl … -text` prints it in a CRL: upper-case hex. */
const upper = (serial: string) => serial.toUpperCase();

describe.each(drivers)('admin API (%s)', (driver) => {
  let t: TestContext;
  let app: Hono<AppEnv>;
  let tokens: Record<Role, string>;
  const admin = () => tokens.administrator;
  const officer = () => tokens.officer;
  const auditor = () => tokens.auditor;

  beforeAll(async () => {
    t = await makeTestContext(driver);
    app = await buildApp(t.ctx, []);
    tokens = await roleTokens(t.ctx);
  });
  afterAll(async () => t?.cleanup());

  const crlText = async (issuerId: string) => {
    const res = await app.request(`/crl/${issuerId}.crl`);
    expect(res.status).toBe(200);
    return openssl(['crl', '-inform', 'DER', '-noout', '-text', '-in', '{in}'], new Uint8Array(await res.arrayBuffer()));
  };

  describe('issuance and search', () => {
    let web: any;
    let api: any;
    let client: any;

    beforeAll(async () => {
      const csr1 = opensslCsr('/O=Acme Widgets/CN=Web.Acme-Search.example', ['DNS:web.acme-search.example', 'DNS:www.acme-search.example', 'IP:192.0.2.10']);
      const r1 = await call(app, officer(), 'POST', '/certificates', { csr: csr1, profile: 'tls-server' });
      expect(r1.status, JSON.stringify(r1.body)).toBe(201);
      web = r1.body;
      const csr2 = opensslCsr('/CN=api.other-search.example', ['DNS:api.other-search.example']);
      const r2 = await call(app, admin(), 'POST', '/certificates', { csr: csr2, profile: 'tls-server', validity: '10:0:0:0' });
      expect(r2.status, JSON.stringify(r2.body)).toBe(201);
      api = r2.body;
      const csr3 = opensslCsr('/CN=Alice Search', ['email:alice@search.example']);
      const r3 = await call(app, officer(), 'POST', '/certificates', { csr: csr3, profile: 'tls-client', validity: 'P30D' });
      expect(r3.status, JSON.stringify(r3.body)).toBe(201);
      client = r3.body;
    });

    it('issues from an openssl CSR: 201 with the certificate PEM and the chain', async () => {
      expect(web.status).toBe('issued');
      expect(web.replayed).toBe(false);
      const cert = web.certificate;
      expect(cert.pem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
      const text = openssl(['x509', '-noout', '-text', '-in', '{in}'], cert.pem);
      expect(text).toContain('DNS:web.acme-search.example');
      expect(text).toContain('IP Address:192.0.2.10');
      expect(text).toMatch(/TLS Web Server Authentication/);
      expect(cert.serial).toMatch(/^[0-9a-f]+$/);
      expect(cert.issuerId).toBe('dev-issuing');
      expect(cert.status).toBe('valid');
      expect(cert.principal).toMatch(/^operator:test-officer$/);
      expect(cert.protocol).toBe('admin');
      expect(web.chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      // The chain verifies with openssl: root as trust anchor, issuing CA untrusted.
      const [issuing, root] = web.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/);
      const rootFile = openssl(['x509', '-in', '{in}'], root);
      expect(rootFile).toContain('BEGIN CERTIFICATE');
      const dir = mkdtempSync(join(tmpdir(), 'certgate-verify-'));
      writeFileSync(join(dir, 'root.pem'), root);
      writeFileSync(join(dir, 'issuing.pem'), issuing);
      writeFileSync(join(dir, 'leaf.pem'), cert.pem);
      const verify = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'issuing.pem'), join(dir, 'leaf.pem')]).toString();
      rmSync(dir, { recursive: true, force: true });
      expect(verify).toMatch(/OK/);
      // The same certificate by id, by serial and as PEM.
      const byId = await call(app, auditor(), 'GET', `/certificates/${cert.id}`);
      expect(byId.status).toBe(200);
      expect(byId.body.pem).toBe(cert.pem);
      const bySerial = await call(app, auditor(), 'GET', `/certificates/${upper(cert.serial).match(/../g)!.join(':')}`);
      expect(bySerial.body.id).toBe(cert.id);
      const pem = await call(app, auditor(), 'GET', `/certificates/${cert.id}/pem`);
      expect(pem.status).toBe(200);
      expect(pem.headers.get('content-type')).toContain('application/x-pem-file');
      expect(pem.text).toBe(cert.pem);
      const withChain = await call(app, auditor(), 'GET', `/certificates/${cert.id}/pem?chain=1`);
      expect(withChain.text.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    });

    it('honours a requested validity within the profile', async () => {
      const c = api.certificate;
      const days = (Date.parse(c.notAfter) - Date.parse(c.notBefore)) / 86400_000;
      expect(Math.round(days)).toBe(10);
    });

    it('the same idempotency key returns the same certificate (200, replayed)', async () => {
      const csr = opensslCsr('/CN=idem.example', ['DNS:idem.example']);
      const a = await call(app, officer(), 'POST', '/certificates', { csr, profile: 'tls-server', idempotencyKey: 'k-1' });
      const b = await call(app, officer(), 'POST', '/certificates', { csr, profile: 'tls-server', idempotencyKey: 'k-1' });
      expect(a.status).toBe(201);
      expect(b.status).toBe(200);
      expect(b.body.replayed).toBe(true);
      expect(b.body.certificate.serial).toBe(a.body.certificate.serial);
    });

    it('searches by subject (case-insensitive substring)', async () => {
      const r = await call(app, auditor(), 'GET', '/certificates?subject=ACME-SEARCH');
      expect(r.status).toBe(200);
      expect(r.body.items.map((c: any) => c.id)).toEqual([web.certificate.id]);
      expect(r.body.total).toBe(1);
      expect(r.body.items[0].pem).toBeUndefined();
      const none = await call(app, auditor(), 'GET', '/certificates?subject=' + encodeURIComponent('%'));
      expect(none.body.items).toHaveLength(0);
    });

    it('searches by SAN: type:value or a bare value', async () => {
      const typed = await call(app, auditor(), 'GET', '/certificates?san=dns:www.acme-search.example');
      expect(typed.body.items.map((c: any) => c.id)).toEqual([web.certificate.id]);
      const bare = await call(app, auditor(), 'GET', '/certificates?san=192.0.2.10');
      expect(bare.body.items.map((c: any) => c.id)).toEqual([web.certificate.id]);
      const email = await call(app, auditor(), 'GET', '/certificates?san=alice@search.example');
      expect(email.body.items.map((c: any) => c.id)).toEqual([client.certificate.id]);
      const wrongType = await call(app, auditor(), 'GET', '/certificates?san=ip:www.acme-search.example');
      expect(wrongType.body.items).toHaveLength(0);
    });

    it('searches by serial (any hex spelling), profile and issuer', async () => {
      const s = api.certificate.serial;
      for (const spelling of [s, upper(s), `0x${s}`, upper(s).match(/../g)!.join(':')]) {
        const r = await call(app, auditor(), 'GET', `/certificates?serial=${encodeURIComponent(spelling)}`);
        expect(r.body.items.map((c: any) => c.id), spelling).toEqual([api.certificate.id]);
      }
      const byProfile = await call(app, auditor(), 'GET', '/certificates?profile=tls-client');
      expect(byProfile.body.items.map((c: any) => c.id)).toContain(client.certificate.id);
      expect(byProfile.body.items.every((c: any) => c.profile === 'tls-client')).toBe(true);
      const byIssuer = await call(app, auditor(), 'GET', '/certificates?issuer=dev-root');
      expect(byIssuer.body.items).toHaveLength(0);
    });

    it('searches by expiry and pages with limit/offset', async () => {
      const in20 = new Date(Date.now() + 20 * 86400_000).toISOString();
      const soon = await call(app, auditor(), 'GET', `/certificates?expiresBefore=${in20}`);
      expect(soon.body.items.map((c: any) => c.id)).toEqual([api.certificate.id]);
      const later = await call(app, auditor(), 'GET', `/certificates?expiresAfter=${in20}&subject=search`);
      expect(later.body.items.map((c: any) => c.id).sort()).toEqual([web.certificate.id, client.certificate.id].sort());
      const page1 = await call(app, auditor(), 'GET', '/certificates?subject=search&limit=2&offset=0');
      const page2 = await call(app, auditor(), 'GET', '/certificates?subject=search&limit=2&offset=2');
      expect(page1.body.total).toBe(3);
      expect(page1.body.items).toHaveLength(2);
      expect(page2.body.items).toHaveLength(1);
      const expired = await call(app, auditor(), 'GET', '/certificates?status=expired');
      expect(expired.body.items).toHaveLength(0);
    });

    it('rejects bad queries with 400 naming the field', async () => {
      for (const [q, field] of [
        ['status=bogus', 'status'],
        ['limit=0', 'limit'],
        ['limit=abc', 'limit'],
        ['expiresBefore=yesterday', 'expiresBefore'],
        ['serial=xyz', 'serial'],
      ]) {
        const r = await call(app, auditor(), 'GET', `/certificates?${q}`);
        expect(r.status, q).toBe(400);
        expect(r.body.error).toBe('BadRequest');
        expect(r.body.message).toContain(field);
      }
    });

    it('rejects bad issuance input with 400 naming the field, and a bad CSR with BadCsr', async () => {
      const missing = await call(app, officer(), 'POST', '/certificates', { profile: 'tls-server' });
      expect(missing.status).toBe(400);
      expect(missing.body.message).toMatch(/^csr: /);
      const unknown = await call(app, officer(), 'POST', '/certificates', { csr: 'x', profile: 'tls-server', sneaky: true });
      expect(unknown.status).toBe(400);
      expect(unknown.body.message).toContain('"sneaky"');
      const notJson = await call(app, officer(), 'POST', '/certificates', '{"csr":');
      expect(notJson.status).toBe(400);
      expect(notJson.body.message).toMatch(/JSON/);
      const badCsr = await call(app, officer(), 'POST', '/certificates', { csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', profile: 'tls-server' });
      expect(badCsr.status).toBe(400);
      expect(badCsr.body.error).toBe('BadCsr');
      const badSan = await call(app, officer(), 'POST', '/certificates', { csr: opensslCsr('/CN=x.example'), profile: 'tls-server', sans: ['ftp:x'] });
      expect(badSan.status).toBe(400);
      expect(badSan.body.message).toContain('sans.0');
      const noProfile = await call(app, officer(), 'POST', '/certificates', { csr: opensslCsr('/CN=x.example'), profile: 'nope' });
      expect(noProfile.status).toBe(404);
      // Profile rules are the pipeline's: a wildcard in tls-client is refused with the rule named.
      const wild = await call(app, officer(), 'POST', '/certificates', { csr: opensslCsr('/CN=w', ['DNS:*.example.com']), profile: 'tls-client' });
      expect(wild.status).toBe(403);
      expect(wild.body.error).toBe('ProfileViolation');
      expect(wild.body.rule).toMatch(/^san\.dns/);
      for (const r of [missing, unknown, notJson, badCsr, badSan, noProfile, wild]) expect(r.text).not.toMatch(/\n\s+at /);
    });
  });

  describe('revocation', () => {
    const issueOne = async (cn: string) => {
      const r = await call(app, officer(), 'POST', '/certificates', { csr: opensslCsr(`/CN=${cn}`, [`DNS:${cn}`]), profile: 'tls-server' });
      expect(r.status).toBe(201);
      return r.body.certificate as { serial: string; id: string; issuerId: string };
    };

    it('revoke: the CRL served at /crl/<issuer>.crl lists it at once, with the reason', async () => {
      const c = await issueOne('revoke-me.example');
      expect(await crlText('dev-issuing')).not.toContain(upper(c.serial));
      const invalidityDate = new Date(Date.now() - 3600_000).toISOString();
      const r = await call(app, officer(), 'POST', `/certificates/${c.serial}/revoke`, { reason: 'keyCompromise', invalidityDate });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.status).toBe('revoked');
      expect(r.body.revocationReason).toBe('keyCompromise');
      const text = await crlText('dev-issuing');
      expect(text).toContain(`Serial Number: ${upper(c.serial)}`);
      expect(text).toContain('Key Compromise');
      expect(text).toContain('Invalidity Date');
      const info = await call(app, auditor(), 'GET', '/crl/dev-issuing');
      expect(info.body.entries).toBeGreaterThanOrEqual(1);
      // Found by status; a second revocation is a conflict; the audit trail names the operator.
      const found = await call(app, auditor(), 'GET', `/certificates?status=revoked&serial=${c.serial}`);
      expect(found.body.items).toHaveLength(1);
      const again = await call(app, officer(), 'POST', `/certificates/${c.serial}/revoke`, {});
      expect(again.status).toBe(409);
      const audit = await call(app, auditor(), 'GET', `/audit?action=certificate.revoke&target=dev-issuing:${c.serial}`);
      expect(audit.body).toHaveLength(1);
      expect(audit.body[0].actor).toBe('operator:test-officer');
    });

    it('revoke errors: unknown serial 404, bad reason and non-hex serial 400', async () => {
      expect((await call(app, officer(), 'POST', '/certificates/0badc0de0badc0de/revoke', {})).status).toBe(404);
      const c = await issueOne('reason.example');
      const bad = await call(app, officer(), 'POST', `/certificates/${c.serial}/revoke`, { reason: 'certificateHold' });
      expect(bad.status).toBe(400);
      const hex = await call(app, officer(), 'POST', '/certificates/not-hex/revoke', {});
      expect(hex.status).toBe(400);
      const future = await call(app, officer(), 'POST', `/certificates/${c.serial}/revoke`, { invalidityDate: '2999-01-01T00:00:00Z' });
      expect(future.status).toBe(400);
      expect(future.body.message).toContain('invalidityDate');
      const row = await call(app, auditor(), 'GET', `/certificates/${c.id}`);
      expect(row.body.status).toBe('valid');
    });

    it('suspend puts it on the CRL as certificateHold; reinstate takes it off', async () => {
      const c = await issueOne('hold-me.example');
      const s = await call(app, officer(), 'POST', `/certificates/${c.serial}/suspend`);
      expect(s.status).toBe(200);
      expect(s.body.status).toBe('hold');
      let text = await crlText('dev-issuing');
      expect(text).toContain(`Serial Number: ${upper(c.serial)}`);
      expect(text).toContain('Certificate Hold');
      expect((await call(app, auditor(), 'GET', '/certificates?status=hold')).body.items.map((x: any) => x.id)).toContain(c.id);
      expect((await call(app, officer(), 'POST', `/certificates/${c.serial}/suspend`)).status).toBe(409);
      const r = await call(app, officer(), 'POST', `/certificates/${c.serial}/reinstate`, { issuerId: 'dev-issuing' });
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('valid');
      text = await crlText('dev-issuing');
      expect(text).not.toContain(upper(c.serial));
      expect((await call(app, officer(), 'POST', `/certificates/${c.serial}/reinstate`)).status).toBe(409);
    });

    it('generates a CRL on demand with a higher number', async () => {
      const a = await call(app, officer(), 'POST', '/crl/dev-issuing/generate');
      const b = await call(app, officer(), 'POST', '/crl/dev-issuing/generate');
      expect(a.status).toBe(200);
      expect(b.body.number).toBeGreaterThan(a.body.number);
      expect(Date.parse(b.body.nextUpdate)).toBeGreaterThan(Date.parse(b.body.thisUpdate));
      expect(b.body.url).toMatch(/\/crl\/dev-issuing\.crl$/);
      const text = await crlText('dev-issuing');
      expect(text).toMatch(new RegExp(`X509v3 CRL Number: \\n\\s+${b.body.number}\\b`));
      expect((await call(app, officer(), 'POST', '/crl/nope/generate')).status).toBe(404);
    });
  });

  describe('manual approval', () => {
    beforeAll(async () => {
      const tls = (await call(app, auditor(), 'GET', '/profiles/tls-server')).body;
      const { builtin: _b, ...def } = tls;
      const r = await call(app, admin(), 'POST', '/profiles', { ...def, name: 'tls-manual', manualApproval: true, description: 'held for an officer' });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    });

    const submit = async (cn: string, idempotencyKey?: string) => {
      const r = await call(app, officer(), 'POST', '/certificates', { csr: opensslCsr(`/CN=${cn}`, [`DNS:${cn}`]), profile: 'tls-manual', idempotencyKey });
      expect(r.status).toBe(202);
      expect(r.body.status).toBe('pending');
      expect(r.headers.get('location')).toBe(`/api/v1/requests/${r.body.requestId}`);
      return r.body.requestId as string;
    };

    it('pending → approve issues the certificate', async () => {
      const id = await submit('approve-me.example');
      const list = await call(app, auditor(), 'GET', '/requests?status=pending');
      expect(list.body.map((r: any) => r.id)).toContain(id);
      const pending = await call(app, auditor(), 'GET', `/requests/${id}`);
      expect(pending.body.status).toBe('pending');
      expect(pending.body.request).toBeUndefined();
      const approved = await call(app, officer(), 'POST', `/requests/${id}/approve`);
      expect(approved.status, JSON.stringify(approved.body)).toBe(200);
      expect(approved.body.status).toBe('issued');
      expect(openssl(['x509', '-noout', '-subject', '-in', '{in}'], approved.body.certificate.pem)).toContain('approve-me.example');
      const after = await call(app, auditor(), 'GET', `/requests/${id}`);
      expect(after.body.status).toBe('issued');
      expect(after.body.decidedBy).toBe('operator:test-officer');
      expect(after.body.certificate.serial).toBe(approved.body.certificate.serial);
      expect((await call(app, officer(), 'POST', `/requests/${id}/approve`)).status).toBe(409);
      expect((await call(app, officer(), 'POST', `/requests/${id}/reject`, { reason: 'late' })).status).toBe(409);
    });

    it('pending → reject; the same idempotency key then replays the rejection', async () => {
      const id = await submit('reject-me.example', 'manual-k1');
      const r = await call(app, officer(), 'POST', `/requests/${id}/reject`, { reason: 'not our domain' });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'rejected', requestId: id, reason: 'not our domain' });
      const after = await call(app, auditor(), 'GET', `/requests/${id}`);
      expect(after.body).toMatchObject({ status: 'rejected', reason: 'not our domain' });
      expect((await call(app, officer(), 'POST', `/requests/${id}/approve`)).status).toBe(409);
      const replay = await call(app, officer(), 'POST', '/certificates', { csr: opensslCsr('/CN=reject-me.example', ['DNS:reject-me.example']), profile: 'tls-manual', idempotencyKey: 'manual-k1' });
      expect(replay.body).toMatchObject({ status: 'rejected', requestId: id, replayed: true });
      const rejected = await call(app, auditor(), 'GET', '/requests?status=rejected');
      expect(rejected.body.map((x: any) => x.id)).toContain(id);
      expect((await call(app, officer(), 'POST', '/requests/no-such-request/approve')).status).toBe(404);
      expect((await call(app, auditor(), 'GET', '/requests?status=bogus')).status).toBe(400);
    });
  });

  describe('profiles', () => {
    const def = { name: 'crud-profile', description: 'one', san: { dns: { allowed: true } }, extendedKeyUsage: ['serverAuth'] };

    it('create, read, update, delete', async () => {
      const c = await call(app, admin(), 'POST', '/profiles', def);
      expect(c.status, JSON.stringify(c.body)).toBe(201);
      expect(c.body.validity.max).toBeGreaterThan(0);
      expect((await call(app, admin(), 'POST', '/profiles', def)).status).toBe(409);
      const g = await call(app, auditor(), 'GET', '/profiles/crud-profile');
      expect(g.body).toMatchObject({ name: 'crud-profile', description: 'one', builtin: false });
      const list = await call(app, auditor(), 'GET', '/profiles');
      expect(list.body.map((p: any) => p.name)).toEqual(expect.arrayContaining(['crud-profile', 'tls-server']));
      const u = await call(app, admin(), 'PUT', '/profiles/crud-profile', { ...def, description: 'two', manualApproval: true });
      expect(u.status).toBe(200);
      expect((await call(app, auditor(), 'GET', '/profiles/crud-profile')).body).toMatchObject({ description: 'two', manualApproval: true });
      const d = await call(app, admin(), 'DELETE', '/profiles/crud-profile');
      expect(d.status).toBe(204);
      expect((await call(app, auditor(), 'GET', '/profiles/crud-profile')).status).toBe(404);
      expect((await call(app, admin(), 'DELETE', '/profiles/crud-profile')).status).toBe(404);
      expect((await call(app, admin(), 'PUT', '/profiles/crud-profile', def)).status).toBe(404);
      const actions = (await call(app, auditor(), 'GET', '/audit?target=crud-profile')).body.map((e: any) => e.action);
      expect(actions).toEqual(['profile.delete', 'profile.update', 'profile.create']);
    });

    it('a bad profile is a 400 naming the field, and nothing is stored', async () => {
      const cases: [unknown, string][] = [
        [{ ...def, name: 'bad-1', validity: { max: -5 } }, 'validity.max'],
        [{ ...def, name: 'bad-2', keyUsage: ['teleport'] }, 'keyUsage.0'],
        [{ ...def, name: 'bad 3' }, 'name'],
        [{ description: 'no name' }, 'name'],
        [{ ...def, name: 'bad-4', issuer: 'no-such-ca' }, 'issuer'],
        [[1, 2], 'body'],
      ];
      for (const [body, field] of cases) {
        const r = await call(app, admin(), 'POST', '/profiles', body);
        expect(r.status, field).toBe(400);
        expect(r.body.message, field).toContain(field);
      }
      const put = await call(app, admin(), 'PUT', '/profiles/tls-server', { name: 'renamed' });
      expect(put.status).toBe(400);
      expect(put.body.message).toMatch(/^name: /);
      const names = (await call(app, auditor(), 'GET', '/profiles')).body.map((p: any) => p.name);
      expect(names.filter((n: string) => n.startsWith('bad'))).toEqual([]);
    });
  });

  describe('issuers', () => {
    it('lists issuers without private material', async () => {
      const r = await call(app, auditor(), 'GET', '/issuers');
      expect(r.status).toBe(200);
      expect(r.body.map((i: any) => i.id)).toEqual(expect.arrayContaining(['dev-root', 'dev-issuing']));
      const issuing = r.body.find((i: any) => i.id === 'dev-issuing');
      expect(issuing).toMatchObject({ parentId: 'dev-root', isDefault: true, isRoot: false, pathLength: 0, status: 'active' });
      const one = await call(app, auditor(), 'GET', '/issuers/dev-issuing');
      expect(one.body.chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      for (const text of [r.text, one.text]) {
        expect(text).not.toMatch(/PRIVATE KEY|privateKey|sealed|"signer"/i);
      }
      expect((await call(app, auditor(), 'GET', '/issuers/nope')).status).toBe(404);
    });

    it('creates a sub-CA that issues, and refuses what the hierarchy forbids', async () => {
      const body = { id: 'ops-ca', name: `Ops CA ${driver}`, parentId: 'dev-root', keyType: 'ec-p384', validityDays: 730, pathLength: 0 };
      const r = await call(app, admin(), 'POST', '/issuers', body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body).toMatchObject({ id: 'ops-ca', parentId: 'dev-root', keyAlgorithm: expect.stringContaining('P-384'), pathLength: 0, isDefault: false });
      expect(r.text).not.toMatch(/PRIVATE KEY/);
      const text = openssl(['x509', '-noout', '-text', '-in', '{in}'], r.body.certificatePem);
      expect(text).toMatch(/CA:TRUE, pathlen:0/);
      expect((await call(app, admin(), 'POST', '/issuers', body)).status).toBe(409);
      const underLeafCa = await call(app, admin(), 'POST', '/issuers', { ...body, id: 'too-deep', name: 'Too Deep', parentId: 'dev-issuing' });
      expect(underLeafCa.status).toBe(400);
      expect(underLeafCa.body.message).toMatch(/^parentId: .*pathLength 0/);
      const noParent = await call(app, admin(), 'POST', '/issuers', { ...body, id: 'orphan', name: 'Orphan', parentId: 'missing' });
      expect(noParent.status).toBe(400);
      expect(noParent.body.message).toContain('parentId');
      const badId = await call(app, admin(), 'POST', '/issuers', { ...body, id: 'Bad_Id' });
      expect(badId.status).toBe(400);
      expect(badId.body.message).toMatch(/^id: /);
      const badKey = await call(app, admin(), 'POST', '/issuers', { ...body, id: 'k', keyType: 'dsa-1024' });
      expect(badKey.body.message).toMatch(/^keyType: /);
      // It signs when asked for by id.
      const issued = await call(app, officer(), 'POST', '/certificates', { csr: opensslCsr('/CN=ops.example', ['DNS:ops.example']), profile: 'tls-server', issuerId: 'ops-ca' });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
      expect(issued.body.certificate.issuerId).toBe('ops-ca');
      expect(issued.body.chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    });

    it('imports a CA made by openssl; refuses a key that does not match', async () => {
      const ca = opensslCa(`Imported CA ${driver}`);
      const other = opensslCa('Other CA');
      const mismatch = await call(app, admin(), 'POST', '/issuers/import', { id: 'imported', certificatePem: ca.certificatePem, privateKeyPem: other.privateKeyPem });
      expect(mismatch.status).toBe(400);
      expect(mismatch.body.message).toMatch(/^privateKeyPem: /);
      expect(mismatch.text).not.toContain('PRIVATE');
      const garbage = await call(app, admin(), 'POST', '/issuers/import', { id: 'imported', certificatePem: 'nope', privateKeyPem: ca.privateKeyPem });
      expect(garbage.body.message).toMatch(/^certificatePem: /);
      const wrongParent = await call(app, admin(), 'POST', '/issuers/import', { id: 'imported', ...ca, parentId: 'dev-root' });
      expect(wrongParent.status).toBe(400);
      expect(wrongParent.body.message).toMatch(/not signed by/);
      const r = await call(app, admin(), 'POST', '/issuers/import', { id: 'imported', ...ca });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body).toMatchObject({ id: 'imported', isRoot: true, subject: `CN=Imported CA ${driver}` });
      expect(r.text).not.toContain('PRIVATE');
      const audit = await call(app, auditor(), 'GET', '/audit?action=issuer.import');
      expect(JSON.stringify(audit.body)).not.toContain('PRIVATE');
      // A root signs end-entity certificates only through a profile that names it.
      const refused = await call(app, officer(), 'POST', '/certificates', { csr: opensslCsr('/CN=imp.example', ['DNS:imp.example']), profile: 'tls-server', issuerId: 'imported' });
      expect(refused.status).toBe(403);
      expect(refused.body.rule).toBe('issuer');
      const tls = await call(app, auditor(), 'GET', '/profiles/tls-server');
      const created = await call(app, admin(), 'POST', '/profiles', { ...tls.body, name: `imported-tls`, issuer: 'imported', builtin: undefined });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const issued = await call(app, officer(), 'POST', '/certificates', { csr: opensslCsr('/CN=imp.example', ['DNS:imp.example']), profile: 'imported-tls' });
      expect(issued.status, JSON.stringify(issued.body)).toBe(201);
      expect(openssl(['x509', '-noout', '-issuer', '-in', '{in}'], issued.body.certificate.pem)).toContain(`Imported CA ${driver}`);
    });

    it('patches CRL options and the default flag', async () => {
      const p = await call(app, admin(), 'PATCH', '/issuers/dev-issuing', { crlValidityHours: 6 });
      expect(p.status).toBe(200);
      expect(p.body.options.crlValidityHours).toBe(6);
      const crl = await call(app, officer(), 'POST', '/crl/dev-issuing/generate');
      expect(Date.parse(crl.body.nextUpdate) - Date.parse(crl.body.thisUpdate)).toBe(6 * 3600_000);
      expect((await call(app, admin(), 'PATCH', '/issuers/dev-issuing', {})).status).toBe(400);
      expect((await call(app, admin(), 'PATCH', '/issuers/dev-issuing', { crlValidityHours: -1 })).body.message).toMatch(/^crlValidityHours: /);
      expect((await call(app, admin(), 'PATCH', '/issuers/dev-issuing', { default: false })).status).toBe(400);
      // Move the default to ops-ca and back: exactly one default at each step.
      expect((await call(app, admin(), 'PATCH', '/issuers/ops-ca', { default: true })).body.isDefault).toBe(true);
      let list = (await call(app, auditor(), 'GET', '/issuers')).body;
      expect(list.filter((i: any) => i.isDefault).map((i: any) => i.id)).toEqual(['ops-ca']);
      await call(app, admin(), 'PATCH', '/issuers/dev-issuing', { default: true });
      list = (await call(app, auditor(), 'GET', '/issuers')).body;
      expect(list.filter((i: any) => i.isDefault).map((i: any) => i.id)).toEqual(['dev-issuing']);
      expect((await call(app, admin(), 'PATCH', '/issuers/nope', { crlValidityHours: 1 })).status).toBe(404);
    });
  });

  describe('operators and tokens', () => {
    it('a created token works with its role; disabling the operator revokes it', async () => {
      const t1 = await call(app, admin(), 'POST', '/tokens', { role: 'officer', name: 'carol', ttlSeconds: 600 });
      expect(t1.status).toBe(201);
      expect(t1.body).toMatchObject({ operator: 'carol', role: 'officer' });
      expect(Date.parse(t1.body.expiresAt) - Date.now()).toBeGreaterThan(500_000);
      const carol = t1.body.token as string;
      expect((await call(app, carol, 'POST', '/crl/dev-issuing/generate')).status).toBe(200);
      expect((await call(app, carol, 'GET', '/operators')).status).toBe(403);
      // Same name, other role: refused rather than silently changing carol's role.
      expect((await call(app, admin(), 'POST', '/tokens', { role: 'administrator', name: 'carol' })).status).toBe(409);
      const ops = await call(app, admin(), 'GET', '/operators');
      expect(ops.body.find((o: any) => o.name === 'carol')).toMatchObject({ role: 'officer', disabled: false, kind: 'operator' });
      expect(ops.text).not.toMatch(/token|secret|password/i);
      expect((await call(app, admin(), 'POST', '/operators/carol/disable')).status).toBe(200);
      expect((await call(app, carol, 'GET', '/issuers')).status).toBe(401);
      // A disabled operator is not re-enabled by minting a token for it.
      expect((await call(app, admin(), 'POST', '/tokens', { role: 'officer', name: 'carol' })).status).toBe(409);
      // Audit: who did it, never the token.
      const audit = await call(app, auditor(), 'GET', '/audit?action=token.create&target=carol');
      expect(audit.body).toHaveLength(1);
      expect(audit.body[0].actor).toBe('operator:test-administrator');
      expect(audit.text).not.toContain(carol);
      expect(audit.text).not.toContain(carol.split('.')[2]);
    });

    it('a token without a name gets a fresh cli-<role>-… operator', async () => {
      const r = await call(app, admin(), 'POST', '/tokens', { role: 'auditor' });
      expect(r.status).toBe(201);
      expect(r.body.operator).toMatch(/^cli-auditor-[0-9a-f]{8}$/);
      expect((await call(app, r.body.token, 'GET', '/audit')).status).toBe(200);
      expect((await call(app, r.body.token, 'POST', '/crl/dev-issuing/generate')).status).toBe(403);
      expect((await call(app, admin(), 'POST', '/tokens', { role: 'root' })).body.message).toMatch(/^role: /);
      expect((await call(app, admin(), 'POST', '/tokens', { role: 'auditor', ttlSeconds: 5 })).body.message).toMatch(/^ttlSeconds: /);
    });

    it('operators: create, conflict, disable, and no self-disable', async () => {
      const c = await call(app, admin(), 'POST', '/operators', { name: 'dave', role: 'auditor', kind: 'api-client' });
      expect(c.status).toBe(201);
      expect(c.body).toMatchObject({ name: 'dave', role: 'auditor', kind: 'api-client', disabled: false });
      expect((await call(app, admin(), 'POST', '/operators', { name: 'dave', role: 'officer' })).status).toBe(409);
      expect((await call(app, admin(), 'POST', '/operators', { name: 'eve', role: 'king' })).body.message).toMatch(/^role: /);
      expect((await call(app, admin(), 'POST', '/operators/test-administrator/disable')).status).toBe(409);
      expect((await call(app, admin(), 'POST', '/operators/nobody/disable')).status).toBe(404);
      const d = await call(app, admin(), 'POST', '/operators/dave/disable');
      expect(d.body.disabled).toBe(true);
      const audit = await call(app, auditor(), 'GET', '/audit?target=dave');
      expect(audit.body.map((e: any) => e.action)).toEqual(['operator.disable', 'operator.create']);
    });
  });

  describe('audit', () => {
    it('searches by action, actor, time range and limit', async () => {
      const since = new Date(Date.now() - 3600_000).toISOString();
      const r = await call(app, auditor(), 'GET', `/audit?actor=operator:test-officer&since=${since}&limit=3`);
      expect(r.status).toBe(200);
      expect(r.body).toHaveLength(3);
      expect(r.body.every((e: any) => e.actor === 'operator:test-officer')).toBe(true);
      const ids = r.body.map((e: any) => e.id);
      expect([...ids].sort((a: number, b: number) => b - a)).toEqual(ids);
      const future = await call(app, auditor(), 'GET', `/audit?since=${new Date(Date.now() + 3600_000).toISOString()}`);
      expect(future.body).toHaveLength(0);
      expect((await call(app, auditor(), 'GET', '/audit?limit=5000')).status).toBe(400);
      expect((await call(app, auditor(), 'GET', '/audit?until=soon')).body.message).toMatch(/^until: /);
    });
  });

  describe('OpenAPI', () => {
    it('describes every route the router registers, and nothing else', async () => {
      const doc = (await call(app, undefined, 'GET', '/openapi.json')).body;
      expect(doc.openapi).toBe('3.0.3');
      expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(doc.security).toEqual([{ bearerAuth: [] }]);
      const routes = adminRoutes(t.ctx).routes.filter((r) => r.method !== 'ALL');
      const registered = new Set(routes.map((r) => `${r.method.toLowerCase()} /api/v1${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`));
      const documented = new Set<string>();
      for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
        for (const method of Object.keys(ops)) documented.add(`${method} ${path}`);
      }
      for (const r of registered) expect(documented, r).toContain(r);
      for (const d of documented) expect(registered, d).toContain(d);
    });

    it('every operation names its role, parameters and responses; every $ref resolves', async () => {
      const doc = (await call(app, undefined, 'GET', '/openapi.json')).body;
      for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
        for (const [method, op] of Object.entries(ops)) {
          // Operations that declare `security: []` need no token (this document, the console's login).
          if (!(Array.isArray(op.security) && op.security.length === 0)) {
            expect(['auditor', 'officer', 'administrator'], `${method} ${path}`).toContain(op['x-required-role']);
            expect(op.responses['401'], `${method} ${path}`).toBeDefined();
            expect(op.responses['403'], `${method} ${path}`).toBeDefined();
          }
          for (const p of path.match(/\{(\w+)\}/g) ?? []) {
            expect(op.parameters.map((x: any) => x.name), `${method} ${path}`).toContain(p.slice(1, -1));
          }
        }
      }
      const search = doc.paths['/api/v1/certificates'].get.parameters.map((p: any) => p.name);
      expect(search).toEqual(expect.arrayContaining(['subject', 'san', 'serial', 'status', 'profile', 'issuer', 'expiresBefore', 'expiresAfter', 'limit', 'offset']));
      const text = JSON.stringify(doc);
      for (const [, ptr] of text.matchAll(/"\$ref":"#\/([^"]+)"/g)) {
        const target = ptr.split('/').reduce((o: any, k) => o?.[k], doc);
        expect(target, ptr).toBeDefined();
      }
      expect(doc.components.schemas.IssueRequest.required).toEqual(expect.arrayContaining(['csr', 'profile']));
      expect(doc.components.schemas.ProfileInput.properties.manualApproval).toBeDefined();
      expect(doc.servers[0].url).toBe(t.ctx.config.publicUrl);
    });

    it('merges a protocol\'s fragment (absolute paths, components, tags)', () => {
      const doc = openApiDocument('https://ca.example', [
        { paths: { '/emca/v5/x': { post: { responses: {} } } }, components: { schemas: { Extra: { type: 'object' } }, securitySchemes: { key: { type: 'apiKey' } } }, tags: [{ name: 'emCA' }] },
      ]) as any;
      expect(doc.paths['/emca/v5/x'].post).toBeDefined();
      expect(doc.paths['/api/v1/issuers'].get).toBeDefined();
      expect(doc.components.schemas.Extra).toBeDefined();
      expect(doc.components.schemas.Issuer).toBeDefined();
      expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearerAuth', 'key']);
      expect(doc.tags.map((x: any) => x.name)).toContain('emCA');
    });
  });
});
