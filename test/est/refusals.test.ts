/**
 * Bad input and refused authentication (RFC 7030 §3.3, §4.2.3): each a 400/401/403 with a
 * text/plain reason, never a 5xx, and nothing written (certificates, pending requests).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabelStore } from '../../protocols/est/labels.ts';
import { UserStore } from '../../protocols/est/users.ts';
import { createProtocolContext } from '../../src/protocol-context-impl.ts';
import { parseSignedData } from '../../src/pki/cms-signed-data.ts';
import { toPem } from '../../src/pki/pem.ts';
import { rowCounts } from '../issuance/helpers.ts';
import { makeCa, makeLeaf } from '../pki/helpers.ts';
import { drivers } from '../support/context.ts';
import { removeTempDirs, tempDir } from '../support/openssl.ts';
import { b64, call, makeCsr, newKey, startEst, type CallOptions, type EstHarness } from './helpers.ts';

const P10 = 'application/pkcs10';
const partnerCa = makeCa('P-256', 'CN=Partner Root,O=Partner,C=IN');
const foreignCa = makeCa('P-256', 'CN=Foreign Root,O=Elsewhere,C=IN');

describe.each(drivers)('EST refusals (%s)', (driver) => {
  let h: EstHarness;
  let pw: { dev: string; other: string; cb: string };
  let owned: { key: ReturnType<typeof newKey>; der: Buffer };

  const enroll = (path: string, o: CallOptions) => call(h, `/.well-known/est/${path}`, { contentType: P10, ...o });
  const csrFor = (cn: string, extra: Partial<Parameters<typeof makeCsr>[0]> = {}) => b64(makeCsr({ key: newKey(), subject: [{ type: 'CN', value: cn }], ...extra }));

  /** The call must be refused with `status` and a reason matching `reason`, writing nothing. */
  async function refused(p: () => Promise<{ status: number; text: string; headers: Record<string, unknown> }>, status: number, reason: RegExp) {
    const before = await rowCounts(h.t.ctx.db);
    const r = await p();
    expect(r.status, r.text).toBe(status);
    expect(String(r.headers['content-type'])).toMatch(/^text\/plain/);
    expect(r.text).toMatch(reason);
    const after = await rowCounts(h.t.ctx.db);
    expect({ c: after.certificates, p: after.pendingRequests }).toEqual({ c: before.certificates, p: before.pendingRequests });
    return r;
  }

  beforeAll(async () => {
    const dir = tempDir();
    const trust = join(dir, 'trust.pem');
    writeFileSync(trust, toPem(partnerCa.der, 'CERTIFICATE'));
    h = await startEst(driver, { CERTGATE_EST_TRUST: trust, CERTGATE_EST_BODY_LIMIT: '8192' });
    const pctx = createProtocolContext(h.t.ctx, 'est');
    const labels = new LabelStore(pctx);
    const users = new UserStore(pctx);
    await labels.add({ name: 'other', profile: 'device', auth: 'basic' }, 'test');
    await labels.add({ name: 'partners', profile: 'device', auth: 'cert' }, 'test');
    await labels.add({ name: 'bound', profile: 'device', auth: 'basic', channelBinding: true }, 'test');
    pw = {
      dev: (await users.add('default', 'dev', 'test')).password,
      other: (await users.add('other', 'dev', 'test')).password,
      cb: (await users.add('bound', 'dev', 'test')).password,
    };
    const key = newKey();
    const r = await enroll('simpleenroll', { body: b64(makeCsr({ key, subject: [{ type: 'CN', value: 'owned.example' }], sans: [{ type: 'dns', value: 'owned.example' }] })), basic: ['dev', pw.dev] });
    owned = { key, der: parseSignedData(Buffer.from(r.text, 'base64')).certificates[0] };
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    removeTempDirs();
  });

  it('plain HTTP is refused', async () => {
    const before = await rowCounts(h.t.ctx.db);
    const r = await fetch(`${h.server.httpUrl}/.well-known/est/simpleenroll`, { method: 'POST', headers: { 'content-type': P10, authorization: `Basic ${Buffer.from(`dev:${pw.dev}`).toString('base64')}` }, body: csrFor('plain.example') });
    expect(r.status).toBe(403);
    expect(await r.text()).toMatch(/HTTPS only/);
    expect((await rowCounts(h.t.ctx.db)).certificates).toBe(before.certificates);
  });

  it('wrong content type', () => refused(() => enroll('simpleenroll', { body: csrFor('a.example'), contentType: 'application/octet-stream', basic: ['dev', pw.dev] }), 400, /Content-Type must be application\/pkcs10/));
  it('a body that is not base64', () => refused(() => enroll('simpleenroll', { body: '%%% not base64 %%%', basic: ['dev', pw.dev] }), 400, /not base64/));
  it('binary DER instead of base64', () => refused(() => enroll('simpleenroll', { body: makeCsr({ key: newKey(), subject: [{ type: 'CN', value: 'bin.example' }] }), basic: ['dev', pw.dev] }), 400, /not base64/));
  it('garbage DER', () => refused(() => enroll('simpleenroll', { body: Buffer.from([0x30, 0x82, 0xff, 0x00, 1, 2, 3]).toString('base64'), basic: ['dev', pw.dev] }), 400, /CSR|PKCS#10|DER/i));
  it('a CSR whose signature fails', () => refused(() => enroll('simpleenroll', { body: csrFor('bad-sig.example', { corrupt: true }), basic: ['dev', pw.dev] }), 400, /signature does not verify/));
  it('an oversized body', () => refused(() => enroll('simpleenroll', { body: 'A'.repeat(12_000), basic: ['dev', pw.dev] }), 400, /larger than 8192/));
  it('a CSR the profile refuses (names a type it does not allow)', () => refused(() => enroll('simpleenroll', { body: csrFor('mail.example', { sans: [{ type: 'email', value: 'a@example.com' }] }), basic: ['dev', pw.dev] }), 403, /email|san/i));

  it('no credentials: 401 with a Basic challenge', async () => {
    const r = await refused(() => enroll('simpleenroll', { body: csrFor('anon.example') }), 401, /authentication required/);
    expect(r.headers['www-authenticate']).toMatch(/^Basic realm="est\/default"/);
  });
  it('a wrong password', () => refused(() => enroll('simpleenroll', { body: csrFor('x.example'), basic: ['dev', `${pw.dev}x`] }), 401, /not valid for this label/));
  it('Basic credentials of another label', () => refused(() => enroll('simpleenroll', { body: csrFor('x.example'), basic: ['dev', pw.other] }), 401, /not valid for this label/));
  it('Basic credentials on a certificate-only label', () => refused(() => enroll('partners/simpleenroll', { body: csrFor('x.example'), basic: ['dev', pw.dev] }), 401, /only TLS client certificates/));
  it('a wrong method and an unknown operation: text answers', async () => {
    const m = await call(h, '/.well-known/est/simpleenroll', { method: 'GET' });
    expect([m.status, m.headers.allow, m.text]).toEqual([405, 'POST', 'simpleenroll takes POST']);
    const u = await call(h, '/.well-known/est/nosuchop', { method: 'GET' });
    expect([u.status, u.text]).toEqual([404, 'unknown EST operation']);
  });
  it('an unknown label', () => refused(() => enroll('nosuch/simpleenroll', { body: csrFor('x.example'), basic: ['dev', pw.dev] }), 404, /unknown EST label/));

  it('a client certificate from a foreign CA', () => {
    const leaf = makeLeaf(foreignCa, { subject: 'CN=foreign.example' });
    return refused(() => enroll('simpleenroll', { body: csrFor('f.example'), cert: { key: leaf.key, certDer: [leaf.der] } }), 403, /not issued by a CA this server trusts/);
  });
  it('a client certificate from the configured trust store is accepted', async () => {
    const leaf = makeLeaf(partnerCa, { subject: 'CN=partner.example' });
    const r = await enroll('partners/simpleenroll', { body: csrFor('p.example'), cert: { key: leaf.key, certDer: [leaf.der] } });
    expect(r.status, r.text).toBe(200);
  });

  it('re-enrolment with a CSR naming other identities', () =>
    refused(
      () => enroll('simplereenroll', { body: b64(makeCsr({ key: newKey(), subject: [{ type: 'CN', value: 'owned.example' }], sans: [{ type: 'dns', value: 'victim.example' }] })), cert: { key: owned.key.privateKey, certDer: [owned.der] } }),
      403,
      /other identities/,
    ));
  it('re-enrolment with another subject', () =>
    refused(
      () => enroll('simplereenroll', { body: b64(makeCsr({ key: newKey(), subject: [{ type: 'CN', value: 'victim.example' }], sans: [{ type: 'dns', value: 'owned.example' }] })), cert: { key: owned.key.privateKey, certDer: [owned.der] } }),
      403,
      /subject differs/,
    ));
  it('re-enrolment without a client certificate', () => refused(() => enroll('simplereenroll', { body: csrFor('owned.example'), basic: ['dev', pw.dev] }), 403, /needs the TLS client certificate/));
  it('re-enrolment with a certificate from the trust store (not one this CA issued)', () => {
    const leaf = makeLeaf(partnerCa, { subject: 'CN=partner.example' });
    return refused(() => enroll('simplereenroll', { body: csrFor('partner.example'), cert: { key: leaf.key, certDer: [leaf.der] } }), 403, /only certificates this CA issued/);
  });

  it('a revoked client certificate', async () => {
    const key = newKey();
    const r = await enroll('simpleenroll', { body: b64(makeCsr({ key, subject: [{ type: 'CN', value: 'revoked.example' }] })), basic: ['dev', pw.dev] });
    const der = parseSignedData(Buffer.from(r.text, 'base64')).certificates[0];
    const { X509Certificate } = await import('node:crypto');
    const serial = new X509Certificate(der).serialNumber.toLowerCase();
    const issuerId = h.t.ctx.issuers.defaultIssuer()!.id;
    await h.t.ctx.revocation.revoke({ issuerId, serial }, 'keyCompromise', 'operator:test');
    await refused(() => enroll('simplereenroll', { body: csrFor('revoked.example'), cert: { key: key.privateKey, certDer: [der] } }), 403, /revoked/);
  });

  describe('channel binding (RFC 7030 §3.5)', () => {
    const bound = (tls: 'TLSv1.2' | 'TLSv1.3', password: (b: Buffer) => string | undefined) =>
      enroll('bound/simpleenroll', {
        tls,
        basic: ['dev', pw.cb],
        bodyFor: (b) => b64(makeCsr({ key: newKey(), subject: [{ type: 'CN', value: `cb-${tls}.example` }], challengePassword: password(b) })),
      });
    it('missing challengePassword', () => refused(() => bound('TLSv1.2', () => undefined), 403, /requires the tls-unique channel binding/));
    it('a wrong tls-unique', () => refused(() => bound('TLSv1.2', () => Buffer.alloc(12, 7).toString('base64')), 403, /does not match this TLS session's tls-unique/));
    it('a tls-unique of another session (replayed)', async () => {
      let first = '';
      await bound('TLSv1.2', (b) => (first = b.toString('base64')));
      await refused(() => bound('TLSv1.2', () => first), 403, /does not match/);
    });
    it('the right tls-unique on TLS 1.2 is accepted', async () => {
      const r = await bound('TLSv1.2', (b) => b.toString('base64'));
      expect(r.status, r.text).toBe(200);
    });
    it('the right tls-exporter on TLS 1.3 is accepted, a wrong one refused', async () => {
      const r = await bound('TLSv1.3', (b) => b.toString('base64'));
      expect(r.status, r.text).toBe(200);
      await refused(() => bound('TLSv1.3', () => Buffer.alloc(32, 1).toString('base64')), 403, /tls-exporter/);
    });
  });
});
