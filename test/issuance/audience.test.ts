/**
 * Profile audience (issue 11, hole 1): a protocol client never gets a system profile, whatever its
 * allow-list says; only operator and internal paths do. The audience is derived from what the
 * profile grants, so a stored profile that omits the field (or says end-entity) is still system.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profiles as profilesTable } from '../../src/db/schema.ts';
import type { Principal, Protocol } from '../../src/issuance/request.ts';
import { parseProfile } from '../../src/profiles/model.ts';
import { profileAudience, systemReason } from '../../src/profiles/audience.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { makeCsr, removeTempDirs } from '../support/openssl.ts';
import { expectIssuanceError, expectIssued, rowCounts } from './helpers.ts';

afterAll(() => removeTempDirs());

describe('profileAudience (derived from the extensions, fail closed)', () => {
  const p = (extra: Record<string, unknown>) => parseProfile({ name: 'custom', ...extra });
  it.each([
    ['basicConstraints cA', { basicConstraints: { ca: true } }],
    ['ocsp-nocheck', { ocspNoCheck: true }],
    ['EKU OCSPSigning by name', { extendedKeyUsage: ['OCSPSigning'] }],
    ['EKU OCSPSigning by OID', { extendedKeyUsage: ['1.3.6.1.5.5.7.3.9'] }],
    ['EKU id-kp-cmcRA', { extendedKeyUsage: ['clientAuth', '1.3.6.1.5.5.7.3.28'] }],
    ['anyExtendedKeyUsage', { extendedKeyUsage: ['anyExtendedKeyUsage'] }],
    ['keyCertSign', { keyUsage: ['digitalSignature', 'keyCertSign'] }],
    ['cRLSign', { keyUsage: ['cRLSign'] }],
    ['an EKU name it does not understand', { extendedKeyUsage: ['superPower'] }],
    ['an explicit end-entity that grants OCSP signing', { audience: 'end-entity', extendedKeyUsage: ['OCSPSigning'] }],
    ['explicit system', { audience: 'system', extendedKeyUsage: ['clientAuth'] }],
  ])('%s → system', (_n, extra) => {
    expect(profileAudience(p(extra))).toBe('system');
    expect(systemReason(p(extra))).toBeTruthy();
  });
  it.each([
    ['tls server', { extendedKeyUsage: ['serverAuth'], keyUsage: ['digitalSignature', 'keyEncipherment'] }],
    ['no EKU', {}],
    ['code signing', { extendedKeyUsage: ['codeSigning'] }],
  ])('%s → end-entity', (_n, extra) => expect(profileAudience(p(extra))).toBe('end-entity'));
  it('reserved system names stay system whatever their definition', () => {
    for (const name of ['ocsp-signing', 'emca-client-signing', 'scep-ra', 'cmp-signer', 'est-server']) {
      expect(profileAudience(parseProfile({ name, extendedKeyUsage: ['clientAuth'] }))).toBe('system');
    }
  });
});

describe.each(drivers)('the pipeline refuses system profiles to protocol clients (%s)', (driver) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await makeTestContext(driver);
    // A custom profile stored by hand without any audience field: derived from its EKU.
    await t.ctx.db.insert(profilesTable).values({
      name: 'stored-responder',
      definition: { name: 'stored-responder', subject: { attributes: [{ type: 'CN', rule: 'required' }] }, extendedKeyUsage: ['OCSPSigning'], keyUsage: ['digitalSignature'] },
      builtin: false,
    });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const systemProfiles = ['ocsp-signing', 'emca-client-signing', 'scep-ra', 'cmp-signer', 'est-server', 'stored-responder'];
  const protocols: Protocol[] = ['acme', 'emca', 'est', 'scep', 'cmp'];
  const req = (principal: Principal, profile: string) => ({
    principal,
    profile,
    key: { kind: 'generate' as const, spec: { type: 'RSA' as const, bits: 2048 } },
    subject: [{ type: 'CN', value: 'responder' }],
  });

  it('the stored profile without an audience reads back as system', async () => {
    expect((await t.ctx.profiles.get('stored-responder'))?.audience).toBe('system');
  });

  it.each(protocols.flatMap((proto) => systemProfiles.map((profile) => [proto, profile] as const)))(
    '%s client asking for %s, even with it on its allow-list: forbiddenProfile, nothing written',
    async (proto, profile) => {
      if (profile === 'emca-client-signing') await ensureProfile(t, profile);
      const before = await rowCounts(t.ctx.db);
      for (const allowedProfiles of [undefined, [profile]]) {
        const principal: Principal = { id: `${proto}:client:1`, protocol: proto, authenticatedBy: 'none', allowedProfiles };
        const e = await expectIssuanceError(t.ctx.pipeline.issue(req(principal, profile)), 'forbiddenProfile', /system profile/);
        expect(e.rule).toBe('profile.audience');
      }
      expect(await rowCounts(t.ctx.db)).toEqual(before);
    },
  );

  it.each(['admin', 'cli', 'internal'] as const)('the %s path may issue a system profile', async (proto) => {
    const r = expectIssued(await t.ctx.pipeline.issue(req({ id: `operator:${proto}`, protocol: proto, authenticatedBy: 'local' }, 'ocsp-signing')));
    expect(r.certificate.profile).toBe('ocsp-signing');
  });

  it('a protocol client without an allow-list still gets end-entity profiles', async () => {
    const csr = makeCsr({ subject: '/CN=ee.example.com', sans: ['DNS:ee.example.com'] });
    const principal: Principal = { id: 'emca:client:2', protocol: 'emca', authenticatedBy: 'hmac' };
    expectIssued(await t.ctx.pipeline.issue({ principal, profile: 'tls-server', key: { kind: 'csr', der: csr.der } }));
  });

  it('an unknown protocol name is refused a system profile (fail closed)', async () => {
    const principal = { id: 'x', protocol: 'something-new', authenticatedBy: 'none' } as unknown as Principal;
    await expectIssuanceError(t.ctx.pipeline.issue(req(principal, 'ocsp-signing')), 'forbiddenProfile', /system profile/);
  });
});

async function ensureProfile(t: TestContext, name: string): Promise<void> {
  if (await t.ctx.profiles.get(name)) return;
  const { signingProfile } = await import('../../protocols/emca/clients.ts');
  await t.ctx.profiles.create(signingProfile);
}
