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
  });
}
