/**
 * Two Certgate instances on one PostgreSQL: one applicationId sent to both at once still gives one
 * certificate (createCertificate) and one PFX (createPKCS12). Runs when DATABASE_URL is set.
 */
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createContext } from '../../src/context.ts';
import { certificates } from '../../src/db/schema.ts';
import { makeTestContext } from '../support/context.ts';
import { adminToken, call, cmsSign, makeApp, makeCsr, register, removeTempDirs } from './helpers.ts';

afterAll(() => removeTempDirs());

describe.runIf(!!process.env.DATABASE_URL)('emCA on two instances sharing PostgreSQL', () => {
  it('20 concurrent calls with one applicationId, split across two instances, give one certificate and one PFX', async () => {
    const t = await makeTestContext('postgres');
    const second = await createContext(t.config, { logger: pino({ level: 'silent' }) });
    try {
      const a = await makeApp(t.ctx);
      const b = await makeApp(second);
      const client = await register(a, await adminToken(t.ctx), { name: 'twin', ips: ['127.0.0.1'] });

      const applicationId = 'shared-app-id';
      const signature = cmsSign(makeCsr('/CN=twin'), client);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          call(i % 2 ? a : b, client, 'createCertificate', { signature, profileName: 'tls-client', subscriberId: 's', applicationId }),
        ),
      );
      expect(results.every((r) => r.body.status === 'success')).toBe(true);
      expect(new Set(results.map((r) => r.body.result)).size).toBe(1);
      const [{ n }] = await t.ctx.db
        .select({ n: sql<number>`count(*)::int` })
        .from(certificates)
        .where(sql`${certificates.metadata}->>'applicationId' = ${applicationId}`);
      expect(n).toBe(1);

      const p12 = cmsSign('CN=twin pfx~KeyAlogirthmAndSize=EC-P256~Password=pw', client);
      const pfx = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          call(i % 2 ? a : b, client, 'createPKCS12', { signature: p12, profileName: 'tls-client', subscriberId: 's', applicationId: 'shared-pfx' }),
        ),
      );
      expect(pfx.every((r) => r.body.status === 'success')).toBe(true);
      expect(new Set(pfx.map((r) => r.body.result)).size).toBe(1);
    } finally {
      await second.close();
      await t.cleanup();
    }
  });
});
