/**
 * Issue 11, hole 1, over ACME: even an operator who maps an ACME profile name onto a system
 * profile (here `responder=ocsp-signing`) cannot hand ACME clients OCSP-signing certificates. The
 * directory does not offer it, newOrder refuses it with invalidProfile, and the pipeline behind
 * finalize refuses an `acme` principal the profile whatever happens in front of it.
 */
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeOrders } from '../../protocols/acme/schema.ts';
import { fromIssuanceError } from '../../protocols/acme/problems.ts';
import { IssuanceError } from '../../src/issuance/errors.ts';
import { drivers } from '../support/context.ts';
import { makeCsr } from '../support/openssl.ts';
import { AcmeClient, newKey } from './client.ts';
import { startAcme, type AcmeHarness } from './harness.ts';

const BASE = 'http://acme.test';

describe.each(drivers)('ACME clients cannot obtain system profiles (%s)', (driver) => {
  let h: AcmeHarness;
  let client: AcmeClient;
  beforeAll(async () => {
    h = await startAcme(driver, { profiles: 'tls-server=tls-server,responder=ocsp-signing' });
    client = await new AcmeClient(`${BASE}/acme/directory`, await newKey('ES256'), h.fetchFn).init();
    expect((await client.newAccount()).status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the directory does not offer the system profile', async () => {
    const profiles = (client.dir as unknown as { meta: { profiles: Record<string, string> } }).meta.profiles;
    expect(Object.keys(profiles)).toContain('tls-server');
    expect(Object.keys(profiles)).not.toContain('responder');
  });

  it('newOrder naming it is refused with invalidProfile, no order stored', async () => {
    const before = (await h.t.ctx.db.select({ n: count() }).from(acmeOrders))[0].n;
    const r = await client.newOrder([{ type: 'dns', value: 'responder.example' }], { profile: 'responder' });
    expect(r.status).toBe(400);
    expect(r.json.type).toBe('urn:ietf:params:acme:error:invalidProfile');
    expect((await h.t.ctx.db.select({ n: count() }).from(acmeOrders))[0].n).toBe(before);
  });

  it('the pipeline refuses an acme principal the profile, and ACME renders that as invalidProfile', async () => {
    const e = await h.t.ctx.pipeline
      .issue({ principal: { id: 'acme:account:x', protocol: 'acme', authenticatedBy: 'acme-jws' }, profile: 'ocsp-signing', key: { kind: 'csr', der: makeCsr({ subject: '/CN=r' }).der } })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(IssuanceError);
    expect((e as IssuanceError).code).toBe('forbiddenProfile');
    const p = fromIssuanceError(e as IssuanceError).toJSON();
    expect(p.type).toBe('urn:ietf:params:acme:error:invalidProfile');
  });
});
