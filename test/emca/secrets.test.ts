/** Invariant 5 for emCA: no password, emKey, AES key or PFX password in any log line, failures included. */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.ts';
import { drivers, makeTestEnv } from '../support/context.ts';
import { adminToken, call, cmsSign, makeApp, makeCsr, register, removeTempDirs } from './helpers.ts';

afterAll(() => removeTempDirs());

for (const driver of drivers) {
  describe(`emCA secrets stay out of the logs (${driver})`, () => {
    it('success and every kind of failure log no secret', async () => {
      const env = await makeTestEnv(driver);
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      });
      const ctx = await createContext(env.config, { logger: pino({ level: 'trace' }, sink) });
      try {
        const app = await makeApp(ctx);
        const c = await register(app, await adminToken(ctx), { name: 'logapp', ips: ['127.0.0.1'] });
        const sig = cmsSign(makeCsr(), c);
        const base = { signature: sig, profileName: 'tls-client', subscriberId: 's', applicationId: 'a1' };
        expect((await call(app, c, 'createCertificate', base)).body.status).toBe('success');
        await call(app, { ...c, password: c.password + 'x' }, 'createCertificate', base);
        await call(app, c, 'createCertificate', base, { ip: '10.0.0.1' });
        await call(app, c, 'createCertificate', base, { aesKey: Buffer.alloc(32).toString('base64') });
        await call(app, c, 'createCertificate', { ...base, signature: 'AAAA' });
        await call(app, c, 'createPKCS12', { signature: cmsSign('CN=x~KeyAlogirthmAndSize=EC-P256~Password=pfx-pin-123', c), profileName: 'tls-client', subscriberId: 's', applicationId: 'a2' });
        await call(app, c, 'getPKCS12', { signature: cmsSign("{'pfxPin': 'wrong-pin-456','serialNumber':'01','subscriberId':'s'}", c) });
        const all = lines.join('');
        expect(all.length).toBeGreaterThan(0);
        for (const secret of [c.password, c.emKey, c.aesKey, c.pfxPassword, 'pfx-pin-123', 'wrong-pin-456']) expect(all).not.toContain(secret);
      } finally {
        await ctx.close();
        await env.cleanup();
      }
    });

    it('database errors on every emCA path log no SQL parameters, sealed keys, PFX bytes or passwords', async () => {
      const env = await makeTestEnv(driver);
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      });
      const ctx = await createContext(env.config, { logger: pino({ level: 'trace' }, sink) });
      try {
        const app = await makeApp(ctx);
        const c = await register(app, await adminToken(ctx), { name: 'dbfail', ips: ['127.0.0.1'] });
        // Every table an emCA request writes refuses the insert.
        for (const table of ['certificates', 'pending_requests', 'emca_transactions', 'emca_pfx', 'emca_nonces']) {
          await ctx.database.query(`alter table ${table} add constraint certgate_test_refuse check (false) not valid`);
        }
        const base = { profileName: 'tls-client', subscriberId: 's' };
        const r1 = await call(app, c, 'createCertificate', { ...base, applicationId: 'f1', signature: cmsSign(makeCsr(), c) });
        const r2 = await call(app, c, 'createPKCS12', { ...base, applicationId: 'f2', signature: cmsSign('CN=x~KeyAlogirthmAndSize=EC-P256~Password=pfx-pin-321', c) });
        const env5 = { incoming: { socket: { remoteAddress: '127.0.0.1' } } };
        const tok = await app.request('/emca/v5/auth/token', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Nonce': 'nonce-dbfail-1' }, body: JSON.stringify({ username: 'dbfail', password: c.password }) }, env5);
        const tok2 = await app.request('/emca/v5/auth/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'dbfail', password: c.password }) }, env5);
        const { token } = (await tok2.json()) as { token: string };
        const ks = await app.request('/emca/v5/keystores', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify({ ...base, applicationId: 'f3', subject: 'CN=ks', keyAlgorithm: 'EC-P256', password: 'pfx-pin-654' }) }, env5);
        expect([r1.body.status, r2.body.status]).toEqual(['failure', 'failure']);
        expect(tok.status).toBe(500);
        expect(ks.status).toBeGreaterThanOrEqual(400);
        const all = lines.join('');
        expect(all).toMatch(/certgate_test_refuse/);
        expect(all).not.toMatch(/params/i);
        expect(all).not.toMatch(/"type":"Buffer"|[A-Za-z0-9+/]{160,}|[0-9a-fA-F]{96,}|BEGIN /);
        for (const secret of [c.password, c.emKey, c.aesKey, c.pfxPassword, 'pfx-pin-321', 'pfx-pin-654']) expect(all).not.toContain(secret);
      } finally {
        await ctx.close();
        await env.cleanup();
      }
    });
  });
}
