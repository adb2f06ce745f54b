/** emCA V5: token, then the JSON certificate-management endpoints with either header. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEnv } from '../../src/http/app-env.ts';
import { registerEmcaCommands } from '../../protocols/emca/cli.ts';
import { emcaOpenApi } from '../../protocols/emca/openapi.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { adminToken, cmsSign, makeApp, makeCsr, openssl, opensslTry, register, removeTempDirs, tempDir, x509Text, type Registered } from './helpers.ts';
import { Command } from 'commander';

afterAll(() => removeTempDirs());

for (const driver of drivers) {
  describe(`emCA V5 and the CLI (${driver})`, () => {
    let t: TestContext;
    let app: Hono<AppEnv>;
    let client: Registered;
    const env = (ip = '127.0.0.1') => ({ incoming: { socket: { remoteAddress: ip } } });

    beforeAll(async () => {
      t = await makeTestContext(driver);
      app = await makeApp(t.ctx);
      client = await register(app, await adminToken(t.ctx), { name: 'v5app', ips: ['127.0.0.0/8'] });
    });
    afterAll(async () => {
      await t?.cleanup();
    });

    const post = (path: string, body: unknown, headers: Record<string, string> = {}, ip?: string) =>
      app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) }, env(ip));

    async function token(minutes = 30): Promise<string> {
      const r = await post('/emca/v5/auth/token', { username: 'v5app', password: client.password, clientId: client.id, validityInMins: minutes });
      expect(r.status).toBe(200);
      const b = (await r.json()) as { token: string; expiresIn: number };
      expect(b.expiresIn).toBe(minutes * 60);
      return b.token;
    }

    it('token: the requested validity; wrong password, wrong IP, reused X-Nonce refused', async () => {
      const tok = await token(15);
      const [, payload] = tok.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { exp: number; iat: number; sub: string };
      expect(claims.exp - claims.iat).toBe(15 * 60);
      expect(claims.sub).toBe(client.id);
      expect((await post('/emca/v5/auth/token', { username: 'v5app', password: 'nope' })).status).toBe(401);
      expect((await post('/emca/v5/auth/token', { username: 'v5app', password: client.password }, {}, '10.0.0.1')).status).toBe(401);
      expect((await post('/emca/v5/auth/token', { username: 'v5app', password: client.password, validityInMins: 0 })).status).toBe(400);
      const nonce = 'nonce-' + Date.now();
      expect((await post('/emca/v5/auth/token', { username: 'v5app', password: client.password }, { 'X-Nonce': nonce })).status).toBe(200);
      expect((await post('/emca/v5/auth/token', { username: 'v5app', password: client.password }, { 'X-Nonce': nonce })).status).toBe(401);
    });

    it('issue, get, chain, suspend, reinstate, revoke, rekey with X-Emca-Api-Key or Bearer', async () => {
      const tok = await token();
      const k = { 'X-Emca-Api-Key': tok };
      const b = { Authorization: `Bearer ${tok}` };
      expect((await post('/emca/v5/certificates', { profileName: 'tls-client', csr: makeCsr().toString('base64'), applicationId: 'x' })).status).toBe(401);
      expect((await post('/emca/v5/certificates', { profileName: 'tls-client', csr: makeCsr().toString('base64'), applicationId: 'x' }, { 'X-Emca-Api-Key': tok + 'x' })).status).toBe(401);

      const csr = makeCsr('/CN=v5 user/O=Acme');
      const r = await post('/emca/v5/certificates', { profileName: 'tls-client', csr: csr.toString('base64'), applicationId: 'v5-1', subscriberId: 'S' }, k);
      expect(r.status).toBe(201);
      const issued = (await r.json()) as { result: string; serialNumber: string };
      expect(x509Text(issued.result)).toMatch(/CN ?= ?v5 user/);
      const replay = await post('/emca/v5/certificates', { profileName: 'tls-client', csr: csr.toString('base64'), applicationId: 'v5-1' }, b);
      expect(replay.status).toBe(200);
      expect(((await replay.json()) as { result: string }).result).toBe(issued.result);

      const get = await app.request(`/emca/v5/certificates/${issued.serialNumber}`, { headers: b }, env());
      expect(get.status).toBe(200);
      expect(await get.json()).toMatchObject({ state: 'active', certificate: issued.result });
      const chain = (await (await app.request(`/emca/v5/certificates/${issued.serialNumber}/chain`, { headers: k }, env())).json()) as { p7b: string; pem: string };
      expect(chain.pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
      const d = tempDir();
      writeFileSync(join(d, 'c.p7b'), Buffer.from(chain.p7b, 'base64'));
      expect(openssl(['pkcs7', '-inform', 'DER', '-in', join(d, 'c.p7b'), '-print_certs', '-noout']).toString().match(/subject=/g)).toHaveLength(3);

      expect((await post(`/emca/v5/certificates/${issued.serialNumber}/reinstate`, {}, k)).status).toBe(409);
      expect((await post(`/emca/v5/certificates/${issued.serialNumber}/suspend`, {}, k)).status).toBe(200);
      expect(((await (await app.request(`/emca/v5/certificates/${issued.serialNumber}`, { headers: b }, env())).json()) as { state: string }).state).toBe('suspended');
      expect((await post(`/emca/v5/certificates/${issued.serialNumber}/reinstate`, {}, k)).status).toBe(200);

      const rk = await post(`/emca/v5/certificates/${issued.serialNumber}/rekey`, { csr: makeCsr('/CN=other').toString('base64'), applicationId: 'v5-rk' }, b);
      expect(rk.status).toBe(201);
      const rkBody = (await rk.json()) as { result: string; serialNumber: string };
      expect(x509Text(rkBody.result)).toMatch(/CN ?= ?v5 user/);
      const old = (await (await app.request(`/emca/v5/certificates/${issued.serialNumber}`, { headers: b }, env())).json()) as { state: string };
      expect(old.state).toBe('revoked');

      expect((await post(`/emca/v5/certificates/${rkBody.serialNumber}/revoke`, { revokeMode: 7 }, k)).status).toBe(400);
      expect((await post(`/emca/v5/certificates/${rkBody.serialNumber}/revoke`, { revokeMode: 1, remarks: 'x' }, k)).status).toBe(200);
      expect((await post(`/emca/v5/certificates/${rkBody.serialNumber}/revoke`, { revokeMode: 1 }, k)).status).toBe(409);
      expect((await app.request('/emca/v5/certificates/abcdef', { headers: b }, env())).status).toBe(404);
    });

    it('keystores (PKCS#12), profiles, CAs, verify', async () => {
      const tok = await token();
      const h = { Authorization: `Bearer ${tok}` };
      const ks = await post('/emca/v5/keystores', { profileName: 'tls-client', subject: 'CN=Key Store,O=Acme', keyAlgorithm: 'EC-P256', password: 'ks-pass', applicationId: 'ks-1' }, h);
      expect(ks.status).toBe(201);
      const d = tempDir();
      writeFileSync(join(d, 'k.p12'), Buffer.from(((await ks.json()) as { result: string }).result, 'base64'));
      expect(opensslTry(['pkcs12', '-info', '-noout', '-in', join(d, 'k.p12'), '-passin', 'pass:ks-pass']).status).toBe(0);
      const bad = await post('/emca/v5/keystores', { profileName: 'tls-client', subject: 'CN=x', keyAlgorithm: 'RSA-1024', password: 'p', applicationId: 'ks-2' }, h);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { result: string }).result).toBe('Please enter valid data');

      const profiles = (await (await app.request('/emca/v5/profiles', { headers: h }, env())).json()) as { profiles: { profileName: string; profileId: string }[] };
      const tc = profiles.profiles.find((p) => p.profileName === 'tls-client')!;
      expect(tc.profileId).toMatch(/^\d+$/);
      const one = await app.request(`/emca/v5/profiles/${tc.profileId}`, { headers: h }, env());
      expect(((await one.json()) as { profile: { profileName: string } }).profile.profileName).toBe('tls-client');
      expect((await app.request('/emca/v5/profiles/nope', { headers: h }, env())).status).toBe(400);
      const cas = (await (await app.request('/emca/v5/cas', { headers: h }, env())).json()) as { cas: { id: string }[] };
      expect(cas.cas.length).toBeGreaterThanOrEqual(2);
      const v = await post('/emca/v5/verify', { signature: cmsSign('data', client) }, h);
      expect(v.status).toBe(200);
    });

    it('CLI: emca-client add --json, list, disable, rotate through the admin API', async () => {
      const admin = await adminToken(t.ctx);
      const out: string[] = [];
      const errs: string[] = [];
      const log = console.log;
      const err = console.error;
      console.log = (...a: unknown[]) => void out.push(a.join(' '));
      console.error = (...a: unknown[]) => void errs.push(a.join(' '));
      const program = new Command('certgate').exitOverride();
      registerEmcaCommands(program, () => t.config, async () => ({
        async call(method: string, path: string, body?: unknown) {
          const res = await app.request(`/api/v1${path}`, {
            method,
            headers: { Authorization: `Bearer ${admin}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
            body: body !== undefined ? JSON.stringify(body) : undefined,
          });
          const text = await res.text();
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* text */
          }
          return { status: res.status, body: parsed as never };
        },
        close: async () => {},
      }));
      try {
        await program.parseAsync(['node', 'certgate', 'emca-client', 'add', '--name', 'cliapp', '--ip', '127.0.0.1', '--ip', '10.0.0.0/8', '--profile', 'tls-client', '--json']);
        const secrets = JSON.parse(out.pop()!) as Record<string, string>;
        for (const f of ['userName', 'password', 'emKey', 'aesKey', 'pfx', 'pfxPassword']) expect(secrets[f]).toBeTruthy();
        expect(Buffer.from(secrets.aesKey, 'base64')).toHaveLength(32);
        await program.parseAsync(['node', 'certgate', 'emca-client', 'list', '--json']);
        const list = JSON.parse(out.pop()!) as { userName: string; allowedIps: string[]; allowedProfiles: string[] }[];
        expect(list.find((c) => c.userName === 'cliapp')).toMatchObject({ allowedIps: ['127.0.0.1/32', '10.0.0.0/8'], allowedProfiles: ['tls-client'] });
        await program.parseAsync(['node', 'certgate', 'emca-client', 'disable', 'cliapp']);
        expect(out.pop()).toBe('disabled cliapp');
        await program.parseAsync(['node', 'certgate', 'emca-client', 'rotate', 'cliapp', '--json']);
        const rotated = JSON.parse(out.pop()!) as Record<string, string>;
        expect(rotated.password).not.toBe(secrets.password);
        await program.parseAsync(['node', 'certgate', 'emca-client', 'add', '--name', 'cliapp', '--ip', '127.0.0.1']);
        expect(errs.pop()).toMatch(/already exists/);
        expect(process.exitCode).toBe(2);
      } finally {
        console.log = log;
        console.error = err;
        process.exitCode = 0;
      }
    });

    it('the OpenAPI fragment lists every V4 method and the V5 endpoints; /emca/openapi.json serves it', async () => {
      const doc = (await (await app.request('/emca/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
      expect(doc.openapi).toMatch(/^3\./);
      expect(Object.keys(doc.paths)).toContain('/emca/v5/certificates/{serial}/rekey');
      const paths = Object.keys(emcaOpenApi.paths);
      expect(paths).toContain('/emCAServices/rest/createCertificate');
      expect(paths).toContain('/emCAServices/rest/createX509CertificatesByIdWithMultipleCsrData');
      expect(paths).toContain('/emca/v5/auth/token');
      expect(paths).toContain('/api/v1/emca/clients');
    });
  });
}
