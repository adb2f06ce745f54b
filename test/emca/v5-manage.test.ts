/**
 * emCA V5 CA Management and OCSP Management (issue 16 item 3): role-gated V5 tokens; CAs created,
 * imported and their CRL settings changed through the seam; OCSP responder certificates created,
 * rotated, mapped and revoked through the OCSP protocol's service — and the OCSP answers signed by
 * the responder in charge, checked with `openssl ocsp`; the CA hierarchy checked with `openssl verify`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { auditEvents } from '../../src/db/schema.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOcspProtocol } from '../../protocols/ocsp/index.ts';
import { emcaProtocol } from '../../protocols/emca/index.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import { toPem } from '../../src/pki/pem.ts';
import { buildApp } from '../../src/server.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { adminToken, call, cmsSign, makeCsr, openssl, opensslTry, register, removeTempDirs, serialOf, tempDir, type Registered } from './helpers.ts';

afterAll(() => removeTempDirs());

const peer = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };

for (const driver of drivers) {
  describe(`emCA V5 CA and OCSP management (${driver})`, () => {
    let t: TestContext;
    let app: Hono<AppEnv>;
    const ocspModule = createOcspProtocol({ settings: { pollMs: 3_600_000, autoProvision: false } });
    const tokens: Record<string, string> = {};
    let client: Registered;

    async function token(who: Registered): Promise<string> {
      const r = await app.request('/emca/v5/auth/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: who.userName, password: who.password }) }, peer);
      expect(r.status).toBe(200);
      return ((await r.json()) as { token: string }).token;
    }
    const v5 = async (role: string, method: string, path: string, body?: unknown) => {
      const r = await app.request(
        path,
        { method, headers: { 'Content-Type': 'application/json', 'X-Emca-Api-Key': tokens[role] }, body: body === undefined ? undefined : JSON.stringify(body) },
        peer,
      );
      return { status: r.status, body: (await r.json()) as Record<string, any> };
    };
    const pemFile = (der: Uint8Array | string, name: string) => {
      const f = join(tempDir(), name);
      writeFileSync(f, typeof der === 'string' ? der : toPem(der, 'CERTIFICATE'));
      return f;
    };

    beforeAll(async () => {
      t = await makeTestContext(driver);
      app = await buildApp(t.ctx, [emcaProtocol, ocspModule]);
      const admin = await adminToken(t.ctx);
      for (const role of ['administrator', 'officer', 'auditor', 'client']) {
        const r = await register(app, admin, { name: `mgr-${role}`, ips: ['127.0.0.1'], role });
        tokens[role] = await token(r);
        if (role === 'client') client = r;
      }
    });
    afterAll(async () => {
      await ocspModule.stop?.();
      await t?.cleanup();
    });

    it('/emca/openapi.json is valid OpenAPI 3.0 (redocly lint): every operation has an operationId and a declared security', async () => {
      const doc = (await (await app.request('/emca/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, { operationId?: string; security?: unknown[] }>> };
      expect(doc.openapi).toMatch(/^3\.0\./);
      const ops = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
      for (const { path, method, op } of ops) {
        expect(op.operationId, `${method} ${path}`).toMatch(/^[A-Za-z0-9_]+$/);
        expect(Array.isArray(op.security), `${method} ${path}`).toBe(true);
      }
      expect(new Set(ops.map((o) => o.op.operationId)).size).toBe(ops.length);
      for (const p of ['/emca/v5/cas/import', '/emca/v5/cas/{id}/crl-settings', '/emca/v5/ocsp/responders/{rid}/map', '/emca/v5/ocsp/responders/{rid}/revoke']) expect(Object.keys(doc.paths)).toContain(p);
      expect(doc.paths['/emca/v5/cas'].post.operationId).toBe('v5_createCA');
      const f = join(tempDir(), 'emca-openapi.json');
      writeFileSync(f, JSON.stringify(doc));
      const r = spawnSync(join(process.cwd(), 'node_modules/.bin/redocly'), ['lint', f], { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(`${r.stdout}${r.stderr}`).toMatch(/valid/);
      expect(`${r.stdout}${r.stderr}`).not.toMatch(/error/i);
    }, 150_000);

    it('roles: a role below the operation\'s is refused with 403; the role is set by an administrator operator only', async () => {
      const body = { id: 'emca-root-x', name: 'Refused Root', validityDays: 30 };
      for (const role of ['officer', 'auditor', 'client']) {
        const r = await v5(role, 'POST', '/emca/v5/cas', body);
        expect(r.status).toBe(403);
        expect(r.body).toEqual({ status: 'failure', result: 'Access denied: this operation needs the administrator role' });
      }
      expect((await v5('client', 'GET', '/emca/v5/cas/dev-issuing')).status).toBe(403);
      expect((await v5('auditor', 'PUT', '/emca/v5/cas/dev-issuing/crl-settings', { crlValidityHours: 12 })).body.result).toBe('Access denied: this operation needs the officer role or above');
      expect((await v5('client', 'GET', '/emca/v5/ocsp/responders')).status).toBe(403);
      expect(await t.ctx.issuers.get('emca-root-x')).toBeUndefined();
      // Without a token, nothing.
      expect((await app.request('/emca/v5/cas/dev-issuing', {}, peer)).status).toBe(401);
      const auditorOp = await adminToken(t.ctx, 'auditor');
      const patch = await app.request(`/api/v1/emca/clients/${client.id}`, { method: 'PATCH', headers: { Authorization: `Bearer ${auditorOp}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ role: 'administrator' }) });
      expect(patch.status).toBe(403);
      const bad = await app.request(`/api/v1/emca/clients/${client.id}`, { method: 'PATCH', headers: { Authorization: `Bearer ${await adminToken(t.ctx)}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ role: 'root' }) });
      expect(bad.status).toBe(400);
    });

    it('createCA: a root and a subordinate (openssl verify), status, CRL settings and the CRL; audited as the client', async () => {
      const root = await v5('administrator', 'POST', '/emca/v5/cas', { id: 'emca-root', name: 'emCA Managed Root', subject: 'CN=emCA Managed Root,O=Certgate Test', keyType: 'ec-p384', validityDays: 3650 });
      expect(root.status, JSON.stringify(root.body)).toBe(201);
      expect(root.body.ca).toMatchObject({ id: 'emca-root', isRoot: true, status: 'active', expired: false });
      const sub = await v5('administrator', 'POST', '/emca/v5/cas', { id: 'emca-sub', name: 'emCA Managed Sub', parentId: 'emca-root', keyType: 'rsa-2048', validityDays: 365, pathLength: 0 });
      expect(sub.status, JSON.stringify(sub.body)).toBe(201);
      const rootFile = pemFile(root.body.ca.certificatePem, 'root.pem');
      const subFile = pemFile(sub.body.ca.certificatePem, 'sub.pem');
      expect(openssl(['verify', '-CAfile', rootFile, subFile]).toString()).toMatch(/OK/);
      const text = openssl(['x509', '-in', subFile, '-noout', '-text']).toString();
      expect(text).toMatch(/CA:TRUE, pathlen:0/);
      expect(text).toMatch(/Public-Key: \(2048 bit\)/);
      // Below pathLength 0: refused with the core's reason, nothing created.
      const deeper = await v5('administrator', 'POST', '/emca/v5/cas', { id: 'emca-sub2', name: 'Too Deep', parentId: 'emca-sub', validityDays: 30 });
      expect(deeper.status).toBe(400);
      expect(deeper.body.result).toMatch(/pathLength 0/);
      expect((await v5('administrator', 'POST', '/emca/v5/cas', { id: 'emca-root', name: 'Again', validityDays: 30 })).status).toBe(409);
      expect((await v5('administrator', 'POST', '/emca/v5/cas', { id: 'Bad Id!', name: 'x', validityDays: 30 })).status).toBe(400);

      const status = await v5('auditor', 'GET', '/emca/v5/cas/emca-sub');
      expect(status.body).toMatchObject({ status: 'success', ca: { id: 'emca-sub', parentId: 'emca-root', status: 'active' }, crlSettings: {} });
      const set = await v5('officer', 'PUT', '/emca/v5/cas/emca-sub/crl-settings', { crlValidityHours: 6, deltaCrlHours: 1 });
      expect(set.body).toMatchObject({ status: 'success', crlSettings: { crlValidityHours: 6, deltaCrlHours: 1 } });
      expect((await v5('officer', 'PUT', '/emca/v5/cas/emca-sub/crl-settings', { crlValidityHours: -1 })).status).toBe(400);
      expect((await v5('auditor', 'GET', '/emca/v5/cas/emca-sub')).body.crlSettings).toEqual({ crlValidityHours: 6, deltaCrlHours: 1 });
      const crl = await v5('auditor', 'GET', '/emca/v5/cas/emca-sub/crl');
      expect(crl.status).toBe(200);
      const crlFile = join(tempDir(), 'sub.crl');
      writeFileSync(crlFile, Buffer.from(crl.body.crl, 'base64'));
      expect(openssl(['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-issuer']).toString()).toMatch(/emCA Managed Sub/);
      expect(opensslTry(['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-CAfile', subFile]).out).toMatch(/verify OK/);
      expect((await v5('auditor', 'GET', '/emca/v5/cas/nope')).status).toBe(404);

      const rows = await t.ctx.db.select().from(auditEvents).where(eq(auditEvents.target, 'emca-sub'));
      expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['issuer.create', 'issuer.update']));
      expect(rows.every((r) => r.actor.startsWith('emca:client:'))).toBe(true);
    });

    it('importCertificate: an openssl-made CA and key are imported; a key that does not match is refused', async () => {
      const d = tempDir();
      openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(d, 'k.pem'), '-out', join(d, 'c.pem'), '-subj', '/CN=Imported emCA Root/O=Elsewhere', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(d, 'other.pem')]);
      const certificatePem = readFileSync(join(d, 'c.pem'), 'utf8');
      const mismatch = await v5('administrator', 'POST', '/emca/v5/cas/import', { id: 'emca-imported', certificatePem, privateKeyPem: readFileSync(join(d, 'other.pem'), 'utf8') });
      expect(mismatch.status).toBe(400);
      expect(mismatch.body.result).toMatch(/does not match/);
      expect(JSON.stringify(mismatch.body)).not.toContain('PRIVATE KEY');
      expect((await v5('officer', 'POST', '/emca/v5/cas/import', { id: 'emca-imported', certificatePem, privateKeyPem: readFileSync(join(d, 'k.pem'), 'utf8') })).status).toBe(403);
      const ok = await v5('administrator', 'POST', '/emca/v5/cas/import', { id: 'emca-imported', certificatePem, privateKeyPem: readFileSync(join(d, 'k.pem'), 'utf8') });
      expect(ok.status, JSON.stringify(ok.body)).toBe(201);
      expect(ok.body.ca).toMatchObject({ id: 'emca-imported', isRoot: true });
      expect(JSON.stringify(ok.body)).not.toContain('PRIVATE KEY');
      // The imported key signs: its CRL verifies under the imported certificate.
      const crl = await v5('auditor', 'GET', '/emca/v5/cas/emca-imported/crl');
      const crlFile = join(d, 'i.crl');
      writeFileSync(crlFile, Buffer.from(crl.body.crl, 'base64'));
      expect(opensslTry(['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-CAfile', join(d, 'c.pem')]).out).toMatch(/verify OK/);
      const list = await v5('client', 'GET', '/emca/v5/cas');
      expect(list.body.cas.map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining(['emca-root', 'emca-sub', 'emca-imported']));
    });

    it('OCSP: create, rotate, map back and revoke responder certificates; openssl ocsp verifies who signs', async () => {
      const ca = t.ctx.issuers.defaultIssuer()!;
      const caFile = pemFile(ca.certDer, 'ca.pem');
      const chainFile = pemFile(ca.chain.map((d) => toPem(d, 'CERTIFICATE')).join('') + toPem(ca.certDer, 'CERTIFICATE'), 'chain.pem');
      // A leaf through the emCA V5 certificate API.
      const issued = await app.request('/emca/v5/certificates', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Emca-Api-Key': tokens.client }, body: JSON.stringify({ profileName: 'tls-client', csr: makeCsr('/CN=ocsp leaf').toString('base64'), applicationId: `ocsp-${Date.now()}` }) }, peer);
      const leafB64 = ((await issued.json()) as { result: string }).result;
      const leafFile = pemFile(Buffer.from(leafB64, 'base64'), 'leaf.pem');
      const reqFile = join(tempDir(), 'req.der');
      openssl(['ocsp', '-issuer', caFile, '-cert', leafFile, '-no_nonce', '-reqout', reqFile]);
      const ask = async () => {
        const r = await app.request('/ocsp', { method: 'POST', headers: { 'Content-Type': 'application/ocsp-request' }, body: readFileSync(reqFile) }, peer);
        expect(r.status).toBe(200);
        const f = join(tempDir(), 'resp.der');
        writeFileSync(f, Buffer.from(await r.arrayBuffer()));
        const verify = opensslTry(['ocsp', '-respin', f, '-issuer', caFile, '-cert', leafFile, '-CAfile', chainFile]);
        const text = opensslTry(['ocsp', '-respin', f, '-resp_text', '-noverify']).out;
        return { verify: verify.out, text: text.toUpperCase().replace(/[:\s]/g, '') };
      };
      const serialHex = (pem: string) => openssl(['x509', '-noout', '-serial'], pem).toString().trim().replace('serial=', '').toUpperCase();

      const first = await v5('officer', 'POST', '/emca/v5/ocsp/responders', { caId: ca.id, validityDays: 7 });
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      expect(openssl(['x509', '-noout', '-text'], first.body.responder.certificatePem).toString()).toMatch(/OCSP Signing/);
      const s1 = await v5('auditor', 'GET', `/emca/v5/ocsp/cas/${ca.id}`);
      expect(s1.body).toMatchObject({ status: 'success', signedBy: 'delegated', activeResponder: { id: first.body.responder.id } });
      let a = await ask();
      expect(a.verify).toContain('Response verify OK');
      expect(a.verify).toContain(': good');
      expect(a.text).toContain(serialHex(first.body.responder.certificatePem));

      const rotated = await v5('officer', 'POST', `/emca/v5/ocsp/responders/${first.body.responder.id}/rotate`);
      expect(rotated.status).toBe(201);
      expect(rotated.body.replaced).toBe(first.body.responder.id);
      a = await ask();
      expect(a.verify).toContain('Response verify OK');
      expect(a.text).toContain(serialHex(rotated.body.responder.certificatePem));
      expect(a.text).not.toContain(serialHex(first.body.responder.certificatePem));
      expect((await v5('auditor', 'GET', `/emca/v5/ocsp/responders/${first.body.responder.id}`)).body.responder.status).toBe('retired');

      const mapped = await v5('officer', 'POST', `/emca/v5/ocsp/responders/${first.body.responder.id}/map`);
      expect(mapped.body).toMatchObject({ status: 'success', responder: { status: 'active' } });
      a = await ask();
      expect(a.verify).toContain('Response verify OK');
      expect(a.text).toContain(serialHex(first.body.responder.certificatePem));

      // Caching settings through the same API.
      const settings = await v5('officer', 'PUT', `/emca/v5/ocsp/cas/${ca.id}/settings`, { validitySeconds: 7200, maxAgeSeconds: 600 });
      expect(settings.body.settings).toMatchObject({ validitySeconds: 7200, maxAgeSeconds: 600 });
      expect((await v5('officer', 'PUT', `/emca/v5/ocsp/cas/${ca.id}/settings`, { validitySeconds: 1 })).status).toBe(400);

      const revoked = await v5('officer', 'POST', `/emca/v5/ocsp/responders/${first.body.responder.id}/revoke`, { reason: 'keyCompromise', replace: true });
      expect(revoked.body).toMatchObject({ status: 'success', responder: { status: 'revoked' } });
      expect(revoked.body.replacement.status).toBe('active');
      expect((await v5('officer', 'POST', `/emca/v5/ocsp/responders/${first.body.responder.id}/map`)).status).toBe(409);
      a = await ask();
      expect(a.verify).toContain('Response verify OK');
      expect(a.text).toContain(serialHex(revoked.body.replacement.certificatePem));
      // The revoked responder certificate is on the CA's CRL.
      const crl = await v5('auditor', 'GET', `/emca/v5/cas/${ca.id}/crl`);
      const crlFile = join(tempDir(), 'ca.crl');
      writeFileSync(crlFile, Buffer.from(crl.body.crl, 'base64'));
      expect(openssl(['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text']).toString().toUpperCase()).toContain(serialHex(first.body.responder.certificatePem));
      const list = await v5('auditor', 'GET', `/emca/v5/ocsp/responders?caId=${ca.id}`);
      expect(list.body.responders.map((r: { status: string }) => r.status).sort()).toEqual(['active', 'retired', 'revoked']);
      expect((await v5('officer', 'POST', '/emca/v5/ocsp/responders', { caId: 'nope' })).status).toBe(404);
      void serialOf;
      void call;
      void cmsSign;
    });
  });
}
