/**
 * The issuance pipeline on a real Context: renewal and re-key, duplicate-key and
 * duplicate-subject rules, manual approval, server-generated keys, validity resolution.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificates, pendingRequests } from '../../src/db/schema.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import type { ProfileInput } from '../../src/profiles/model.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { makeCsr, removeTempDirs } from '../support/openssl.ts';
import { expectIssuanceError, expectIssued, issueCsr, operator, rowCounts } from './helpers.ts';

afterAll(() => removeTempDirs());

const DAY = 86400;
const secs = (d: Date) => Math.floor(d.getTime() / 1000);

/** A small TLS-style profile for the tests to tweak. */
const profile = (name: string, extra: Partial<ProfileInput> = {}): ProfileInput => ({
  name,
  subject: { attributes: [{ type: 'O', rule: 'optional' }, { type: 'CN', rule: 'optional' }] },
  san: { dns: { allowed: true } },
  keyUsage: ['digitalSignature'],
  extendedKeyUsage: ['serverAuth'],
  ...extra,
});

describe.each(drivers)('issuance pipeline (%s)', (driver) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await makeTestContext(driver);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  describe('renewal and re-key', () => {
    it('renewal may keep the key and records what it replaces', async () => {
      const csr = makeCsr({ subject: '/CN=renew.example.com', sans: ['DNS:renew.example.com'] });
      const first = await issueCsr(t.ctx, 'tls-server', csr.der);
      const renewed = await issueCsr(t.ctx, 'tls-server', csr.der, { replaces: { serial: first.certificate.serial, mode: 'renew' } });
      expect(renewed.certificate.serial).not.toBe(first.certificate.serial);
      const [row] = await t.ctx.db.select().from(certificates).where(eq(certificates.id, renewed.certificate.id));
      expect(row.replacesId).toBe(first.certificate.id);
      expect(row.spkiSha256).toBe((await t.ctx.db.select().from(certificates).where(eq(certificates.id, first.certificate.id)))[0].spkiSha256);
      // The serial may be given with colons, upper case, and the issuer.
      const colons = first.certificate.serial.toUpperCase().match(/../g)!.join(':');
      const again = await issueCsr(t.ctx, 'tls-server', csr.der, { replaces: { serial: colons, issuerId: 'dev-issuing', mode: 'renew' } });
      expect((await t.ctx.db.select().from(certificates).where(eq(certificates.id, again.certificate.id)))[0].replacesId).toBe(first.certificate.id);
    });

    it('re-key refuses the old key (Conflict) and accepts a new one', async () => {
      const oldCsr = makeCsr({ subject: '/CN=rekey.example.com', sans: ['DNS:rekey.example.com'] });
      const first = await issueCsr(t.ctx, 'tls-server', oldCsr.der);
      const before = await rowCounts(t.ctx.db);
      const e = await expectIssuanceError(
        t.ctx.pipeline.issue({ principal: operator, profile: 'tls-server', key: { kind: 'csr', der: oldCsr.der }, replaces: { serial: first.certificate.serial, mode: 'rekey' } }),
        'duplicateKey',
        /re-key needs a new public key/,
      );
      expect(e.rule).toBe('rekey.newKey');
      expect(await rowCounts(t.ctx.db)).toEqual(before);
      // The same key in a freshly signed CSR is still the same key.
      const sameKey = makeCsr({ keyFile: oldCsr.keyFile, subject: '/CN=rekey.example.com', sans: ['DNS:rekey.example.com'] });
      await expectIssuanceError(
        t.ctx.pipeline.issue({ principal: operator, profile: 'tls-server', key: { kind: 'csr', der: sameKey.der }, replaces: { serial: first.certificate.serial, mode: 'rekey' } }),
        'duplicateKey',
        /new public key/,
      );
      const newCsr = makeCsr({ subject: '/CN=rekey.example.com', sans: ['DNS:rekey.example.com'] });
      const rekeyed = await issueCsr(t.ctx, 'tls-server', newCsr.der, { replaces: { serial: first.certificate.serial, mode: 'rekey' } });
      const [row] = await t.ctx.db.select().from(certificates).where(eq(certificates.id, rekeyed.certificate.id));
      expect(row.replacesId).toBe(first.certificate.id);
    });

    it('a revoked certificate can be neither renewed nor re-keyed', async () => {
      const csr = makeCsr({ subject: '/CN=gone.example.com', sans: ['DNS:gone.example.com'] });
      const first = await issueCsr(t.ctx, 'tls-server', csr.der);
      await t.ctx.revocation.revoke({ serial: first.certificate.serial }, 'superseded', 'operator:test');
      await expectIssuanceError(
        t.ctx.pipeline.issue({ principal: operator, profile: 'tls-server', key: { kind: 'csr', der: csr.der }, replaces: { serial: first.certificate.serial, mode: 'renew' } }),
        'conflict',
        /is revoked and cannot be renewed/,
      );
      await expectIssuanceError(
        t.ctx.pipeline.issue({ principal: operator, profile: 'tls-server', key: { kind: 'csr', der: makeCsr({ sans: ['DNS:gone.example.com'] }).der }, replaces: { serial: first.certificate.serial, mode: 'rekey' } }),
        'conflict',
        /cannot be re-keyed/,
      );
    });
  });

  describe('duplicate rules', () => {
    it("duplicateKey: 'reject' refuses a key already in a valid certificate", async () => {
      await t.ctx.profiles.create(profile('dup-key', { duplicateKey: 'reject' }));
      const csr = makeCsr({ subject: '/CN=a.dupkey.example', sans: ['DNS:a.dupkey.example'] });
      const first = await issueCsr(t.ctx, 'dup-key', csr.der);
      const other = makeCsr({ keyFile: csr.keyFile, subject: '/CN=b.dupkey.example', sans: ['DNS:b.dupkey.example'] });
      const e = await expectIssuanceError(t.ctx.pipeline.issue({ principal: operator, profile: 'dup-key', key: { kind: 'csr', der: other.der } }), 'duplicateKey', /public key is already certified/);
      expect(e.rule).toBe('duplicateKey');
      // A new key is fine.
      await issueCsr(t.ctx, 'dup-key', makeCsr({ subject: '/CN=c.dupkey.example', sans: ['DNS:c.dupkey.example'] }).der);
      // Renewal of that very certificate may keep the key (the certificate being replaced does not count).
      await issueCsr(t.ctx, 'dup-key', csr.der, { replaces: { serial: first.certificate.serial, mode: 'renew' } });
    });

    it('once the holder is revoked, the key may be certified again', async () => {
      const csr = makeCsr({ subject: '/CN=x.dupkey.example', sans: ['DNS:x.dupkey.example'] });
      const first = await issueCsr(t.ctx, 'dup-key', csr.der);
      await expectIssuanceError(t.ctx.pipeline.issue({ principal: operator, profile: 'dup-key', key: { kind: 'csr', der: csr.der } }), 'duplicateKey', /already certified/);
      await t.ctx.revocation.revoke({ serial: first.certificate.serial }, 'superseded', 'operator:test');
      await issueCsr(t.ctx, 'dup-key', csr.der);
    });

    it("duplicateSubject: 'reject' refuses a subject DN already in a valid certificate", async () => {
      await t.ctx.profiles.create(profile('dup-subject', { duplicateSubject: 'reject' }));
      await issueCsr(t.ctx, 'dup-subject', makeCsr({ subject: '/O=Example/CN=same.example', sans: ['DNS:same.example'] }).der);
      const e = await expectIssuanceError(
        t.ctx.pipeline.issue({ principal: operator, profile: 'dup-subject', key: { kind: 'csr', der: makeCsr({ subject: '/O=Example/CN=same.example', sans: ['DNS:same.example'] }).der } }),
        'policy',
        /a valid certificate for subject "[^"]*CN=same\.example[^"]*" already exists/,
      );
      expect(e.rule).toBe('duplicateSubject');
      // Another subject is fine, and the default profiles allow duplicates.
      await issueCsr(t.ctx, 'dup-subject', makeCsr({ subject: '/O=Example/CN=other.example', sans: ['DNS:other.example'] }).der);
      await issueCsr(t.ctx, 'tls-server', makeCsr({ subject: '/O=Example/CN=same.example', sans: ['DNS:same.example'] }).der);
      await issueCsr(t.ctx, 'tls-server', makeCsr({ subject: '/O=Example/CN=same.example', sans: ['DNS:same.example'] }).der);
    });
  });

  describe('manual approval', () => {
    beforeAll(async () => {
      await t.ctx.profiles.create(profile('approval', { manualApproval: true }));
    });

    it('pending → approve issues; getRequest reports issued; approving twice is a Conflict', async () => {
      const before = await rowCounts(t.ctx.db);
      const r = await t.ctx.pipeline.issue({
        principal: operator,
        profile: 'approval',
        key: { kind: 'csr', der: makeCsr({ subject: '/CN=held.example', sans: ['DNS:held.example'] }).der },
        idempotencyKey: 'held-1',
      });
      expect(r.status).toBe('pending');
      if (r.status !== 'pending') return;
      const after = await rowCounts(t.ctx.db);
      expect(after.certificates).toBe(before.certificates);
      expect(after.pendingRequests).toBe(before.pendingRequests + 1);
      expect((await t.ctx.pipeline.getRequest(r.requestId)).status).toBe('pending');
      // Asking again with the same idempotency key returns the same pending request.
      const replay = await t.ctx.pipeline.issue({ principal: operator, profile: 'approval', key: { kind: 'csr', der: makeCsr({ sans: ['DNS:held.example'] }).der }, idempotencyKey: 'held-1' });
      expect(replay).toMatchObject({ status: 'pending', requestId: r.requestId, replayed: true });

      const approved = expectIssued(await t.ctx.pipeline.approve(r.requestId, 'officer:carol'));
      expect(approved.certificate.profile).toBe('approval');
      const polled = expectIssued(await t.ctx.pipeline.getRequest(r.requestId));
      expect(polled.certificate.serial).toBe(approved.certificate.serial);
      expect(Buffer.from(polled.certificate.der).equals(Buffer.from(approved.certificate.der))).toBe(true);
      const [row] = await t.ctx.db.select().from(pendingRequests).where(eq(pendingRequests.id, r.requestId));
      expect(row).toMatchObject({ status: 'issued', certificateId: approved.certificate.id, decidedBy: 'officer:carol' });
      // The original idempotency key now returns the issued certificate.
      const done = expectIssued(await t.ctx.pipeline.issue({ principal: operator, profile: 'approval', key: { kind: 'csr', der: makeCsr({ sans: ['DNS:held.example'] }).der }, idempotencyKey: 'held-1' }));
      expect(done.certificate.serial).toBe(approved.certificate.serial);

      await expectIssuanceError(t.ctx.pipeline.approve(r.requestId, 'officer:dave'), 'conflict', /already issued/);
      await expectIssuanceError(t.ctx.pipeline.reject(r.requestId, 'officer:dave', 'too late'), 'conflict', /already issued/);
    });

    it('two officers approving at once issue once', async () => {
      const r = await t.ctx.pipeline.issue({ principal: operator, profile: 'approval', key: { kind: 'csr', der: makeCsr({ sans: ['DNS:race.example'] }).der } });
      if (r.status !== 'pending') throw new Error('expected pending');
      const before = await rowCounts(t.ctx.db);
      const outcomes = await Promise.allSettled([t.ctx.pipeline.approve(r.requestId, 'officer:a'), t.ctx.pipeline.approve(r.requestId, 'officer:b')]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const failed = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect(failed.reason).toMatchObject({ code: 'conflict' });
      expect((await rowCounts(t.ctx.db)).certificates).toBe(before.certificates + 1);
    });

    it('reject → getRequest reports rejected with the reason; approving afterwards is a Conflict', async () => {
      const r = await t.ctx.pipeline.issue({ principal: operator, profile: 'approval', key: { kind: 'csr', der: makeCsr({ sans: ['DNS:nope.example'] }).der } });
      if (r.status !== 'pending') throw new Error('expected pending');
      const before = await rowCounts(t.ctx.db);
      expect(await t.ctx.pipeline.reject(r.requestId, 'officer:carol', 'not our domain')).toMatchObject({ status: 'rejected', reason: 'not our domain' });
      expect(await t.ctx.pipeline.getRequest(r.requestId)).toMatchObject({ status: 'rejected', requestId: r.requestId, reason: 'not our domain' });
      await expectIssuanceError(t.ctx.pipeline.approve(r.requestId, 'officer:dave'), 'conflict', /already rejected/);
      await expectIssuanceError(t.ctx.pipeline.reject(r.requestId, 'officer:dave', 'again'), 'conflict', /already rejected/);
      expect((await rowCounts(t.ctx.db)).certificates).toBe(before.certificates);
      await expectIssuanceError(t.ctx.pipeline.getRequest('no-such-request'), 'notFound', /no request no-such-request/);
    });

    it('concurrent submissions with one idempotency key hold one request', async () => {
      const der = makeCsr({ sans: ['DNS:once.example'] }).der;
      const before = await rowCounts(t.ctx.db);
      const results = await Promise.all(
        Array.from({ length: 20 }, () => t.ctx.pipeline.issue({ principal: operator, profile: 'approval', key: { kind: 'csr', der }, idempotencyKey: 'held-once' })),
      );
      expect(new Set(results.map((r) => (r.status === 'pending' ? r.requestId : r.status))).size).toBe(1);
      expect((await rowCounts(t.ctx.db)).pendingRequests).toBe(before.pendingRequests + 1);
    });

    it('an approval the profile no longer allows fails and leaves the request pending', async () => {
      await t.ctx.profiles.create(profile('approval-unique', { manualApproval: true, duplicateSubject: 'reject' }));
      const hold = async (host: string) => {
        const r = await t.ctx.pipeline.issue({ principal: operator, profile: 'approval-unique', key: { kind: 'csr', der: makeCsr({ subject: '/CN=twin.example', sans: ['DNS:twin.example', `DNS:${host}`] }).der } });
        if (r.status !== 'pending') throw new Error('expected pending');
        return r.requestId;
      };
      const one = await hold('one.twin.example');
      const two = await hold('two.twin.example');
      expectIssued(await t.ctx.pipeline.approve(one, 'officer:carol'));
      const before = await rowCounts(t.ctx.db);
      await expectIssuanceError(t.ctx.pipeline.approve(two, 'officer:carol'), 'policy', /subject "CN=twin\.example" already exists/);
      expect((await rowCounts(t.ctx.db)).certificates).toBe(before.certificates);
      const [row] = await t.ctx.db.select().from(pendingRequests).where(eq(pendingRequests.id, two));
      expect(row).toMatchObject({ status: 'pending', decidedBy: null });
      expect(await t.ctx.pipeline.reject(two, 'officer:carol', 'duplicate')).toMatchObject({ status: 'rejected' });
    });

    it('a request that breaks the profile is refused up front, not held', async () => {
      const before = await rowCounts(t.ctx.db);
      await expectIssuanceError(
        t.ctx.pipeline.issue({ principal: operator, profile: 'approval', key: { kind: 'csr', der: makeCsr({ sans: ['IP:192.0.2.1'] }).der } }),
        'policy',
        /192\.0\.2\.1/,
      );
      expect(await rowCounts(t.ctx.db)).toEqual(before);
    });
  });

  describe("server-generated keys ('generate')", () => {
    it('returns a PKCS#8 key matching the certificate; a replay returns the same key', async () => {
      const req = {
        principal: operator,
        profile: 'tls-client',
        key: { kind: 'generate' as const, spec: { type: 'EC' as const, curve: 'P-256' as const } },
        subject: [{ type: 'CN', value: 'generated-user' }],
        sans: [{ type: 'email' as const, value: 'gen@example.com' }],
        idempotencyKey: 'pkcs12-app-1',
      };
      const r = expectIssued(await t.ctx.pipeline.issue(req));
      expect(r.privateKey).toBeDefined();
      const key = createPrivateKey({ key: Buffer.from(r.privateKey!), format: 'der', type: 'pkcs8' });
      expect(key.asymmetricKeyType).toBe('ec');
      const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
      const cert = parseCertificate(r.certificate.der);
      expect(Buffer.from(cert.spki).equals(spki)).toBe(true);
      // It really is the pair: a signature by the returned key verifies with the certificate's key.
      const sig = sign('sha256', Buffer.from('proof'), key);
      expect(verify('sha256', Buffer.from('proof'), createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' }), sig)).toBe(true);

      const replay = expectIssued(await t.ctx.pipeline.issue(req));
      expect(replay.replayed).toBe(true);
      expect(replay.certificate.serial).toBe(r.certificate.serial);
      expect(Buffer.from(replay.privateKey!).equals(Buffer.from(r.privateKey!))).toBe(true);

      // RSA too, checked against the profile's key rules.
      const rsa = expectIssued(await t.ctx.pipeline.issue({ ...req, key: { kind: 'generate', spec: { type: 'RSA', bits: 2048 } }, idempotencyKey: 'pkcs12-app-2' }));
      expect(createPrivateKey({ key: Buffer.from(rsa.privateKey!), format: 'der', type: 'pkcs8' }).asymmetricKeyDetails?.modulusLength).toBe(2048);
      await expectIssuanceError(
        t.ctx.pipeline.issue({ ...req, key: { kind: 'generate', spec: { type: 'Ed25519' } }, idempotencyKey: 'pkcs12-app-3' }),
        'policy',
        /Ed25519 keys are not allowed/,
      );
      // A CSR-based certificate carries no private key.
      expect((await issueCsr(t.ctx, 'tls-client', makeCsr({ subject: '/CN=csr-user' }).der)).privateKey).toBeUndefined();
    });
  });

  describe('validity', () => {
    it("honours an emCA 'D:H:M:S' duration", async () => {
      const r = await issueCsr(t.ctx, 'tls-server', makeCsr({ sans: ['DNS:v1.example'] }).der, { validity: { duration: '30:12:00:00' } });
      const c = parseCertificate(r.certificate.der);
      expect(secs(c.notAfter) - secs(c.notBefore)).toBe(30 * DAY + 12 * 3600 + 60); // + the 60 s backdate
      expect(c.notAfter.getTime()).toBe(r.certificate.notAfter.getTime());
    });

    it('clamps a longer request to the profile maximum', async () => {
      // tls-server: max 397 days.
      const r = await issueCsr(t.ctx, 'tls-server', makeCsr({ sans: ['DNS:v2.example'] }).der, { validity: { duration: '500:0:0:0' } });
      const c = parseCertificate(r.certificate.der);
      expect(secs(c.notAfter) - secs(c.notBefore)).toBe(397 * DAY + 60);
    });

    it("clamps to the issuer's notAfter", async () => {
      await t.ctx.profiles.create(profile('long-lived', { validity: { default: 90 * DAY, max: 100 * 365 * DAY, allowCustom: true, backdate: 60 } }));
      const issuerNotAfter = t.ctx.issuers.peek('dev-issuing')!.notAfter;
      const r = await issueCsr(t.ctx, 'long-lived', makeCsr({ sans: ['DNS:v3.example'] }).der, { validity: { duration: '36135:0:0:0' } });
      const c = parseCertificate(r.certificate.der);
      expect(secs(c.notAfter)).toBe(secs(issuerNotAfter));
      // An absolute notAfter beyond the issuer is clamped the same way.
      const abs = await issueCsr(t.ctx, 'long-lived', makeCsr({ sans: ['DNS:v4.example'] }).der, { validity: { notAfter: '2090-01-01T00:00:00Z' } });
      expect(secs(parseCertificate(abs.certificate.der).notAfter)).toBe(secs(issuerNotAfter));
    });

    it('an absolute notBefore/notAfter is used as given', async () => {
      const nb = new Date(Date.now() + 3600_000);
      const na = new Date(nb.getTime() + 10 * DAY * 1000);
      const r = await issueCsr(t.ctx, 'tls-server', makeCsr({ sans: ['DNS:v5.example'] }).der, { validity: { notBefore: nb.toISOString(), notAfter: na.toISOString() } });
      const c = parseCertificate(r.certificate.der);
      expect(secs(c.notBefore)).toBe(secs(nb));
      expect(secs(c.notAfter)).toBe(secs(na));
    });

    it('a custom validity on a profile with allowCustom: false is ignored (the default applies)', async () => {
      await t.ctx.profiles.create(profile('fixed-validity', { validity: { default: 7 * DAY, max: 30 * DAY, allowCustom: false, backdate: 0 } }));
      for (const validity of [{ duration: '20:0:0:0' }, { duration: 'P1D' }, { notAfter: new Date(Date.now() + 2 * DAY * 1000) }]) {
        const r = await issueCsr(t.ctx, 'fixed-validity', makeCsr({ sans: ['DNS:v6.example'] }).der, { validity });
        const c = parseCertificate(r.certificate.der);
        expect(secs(c.notAfter) - secs(c.notBefore)).toBe(7 * DAY);
      }
      // Even an unparseable one: the profile does not read it.
      const r = await issueCsr(t.ctx, 'fixed-validity', makeCsr({ sans: ['DNS:v7.example'] }).der, { validity: { duration: '36136:0:0:0' } });
      const c = parseCertificate(r.certificate.der);
      expect(secs(c.notAfter) - secs(c.notBefore)).toBe(7 * DAY);
    });
  });
});
