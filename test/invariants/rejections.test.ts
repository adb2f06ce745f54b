/**
 * Invariant 5 (DESIGN.md): bad input of any kind gets a clear, typed error and changes nothing.
 * Each rejected request is checked for its IssuanceError code, a message naming the problem, and
 * unchanged row counts in certificates, pending_requests and audit_events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuanceErrorCode } from '../../src/issuance/errors.ts';
import type { EnrollmentRequest } from '../../src/issuance/request.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { makeCsr, removeTempDirs } from '../support/openssl.ts';
import { expectIssuanceError, issueCsr, operator, rowCounts } from '../issuance/helpers.ts';

afterAll(() => removeTempDirs());

/** The CSR with one byte of its signed subject changed: a well-formed request whose signature fails. */
function tamperSubject(der: Buffer, needle: string): Buffer {
  const copy = Buffer.from(der);
  const at = copy.indexOf(Buffer.from(needle, 'latin1'));
  if (at < 0) throw new Error(`"${needle}" not in the CSR`);
  copy[at] ^= 0x01;
  return copy;
}

interface Case {
  name: string;
  request: () => EnrollmentRequest;
  code: IssuanceErrorCode;
  message: RegExp;
  rule?: string;
}

describe.each(drivers)('invariant 5: a rejected request changes nothing (%s)', (driver) => {
  let t: TestContext;
  beforeAll(async () => {
    t = await makeTestContext(driver);
    // Something in every table first, so "unchanged" is not "still empty".
    await issueCsr(t.ctx, 'tls-server', makeCsr({ subject: '/CN=ok.example.com', sans: ['DNS:ok.example.com'] }).der);
    await t.ctx.profiles.create({ name: 'held', subject: { attributes: [{ type: 'CN', rule: 'optional' }] }, san: { dns: { allowed: true } }, manualApproval: true });
    const held = await t.ctx.pipeline.issue({ principal: operator, profile: 'held', key: { kind: 'csr', der: makeCsr({ sans: ['DNS:held.example.com'] }).der } });
    expect(held.status).toBe('pending');
    await t.ctx.profiles.create({ name: 'disabled', enabled: false });
    await t.ctx.profiles.create({ name: 'pinned', issuer: 'dev-issuing', subject: { attributes: [{ type: 'CN', rule: 'optional' }] }, san: { dns: { allowed: true } } });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const good = () => makeCsr({ subject: '/CN=www.example.com', sans: ['DNS:www.example.com'] });
  const csrReq = (profile: string, der: Uint8Array, extra: Partial<EnrollmentRequest> = {}): EnrollmentRequest => ({
    principal: operator,
    profile,
    key: { kind: 'csr', der },
    idempotencyKey: `rejected-${Math.random()}`,
    ...extra,
  });

  const cases: Case[] = [
    {
      name: 'malformed CSR bytes',
      request: () => csrReq('tls-server', Buffer.from('this is not a certification request')),
      code: 'badCsr',
      message: /CSR|PKCS#10/,
    },
    {
      name: 'truncated CSR',
      request: () => csrReq('tls-server', good().der.subarray(0, 40)),
      code: 'badCsr',
      message: /CSR/,
    },
    {
      name: 'a CSR whose signature does not verify',
      request: () => csrReq('tls-server', tamperSubject(makeCsr({ subject: '/CN=tamper.example.com', sans: ['DNS:tamper.example.com'] }).der, 'tamper.example.com')),
      code: 'badPop',
      message: /signature does not verify/,
    },
    {
      name: 'unknown profile',
      request: () => csrReq('no-such-profile', good().der),
      code: 'unknownProfile',
      message: /unknown profile "no-such-profile"/,
    },
    {
      name: 'a forbidden key: RSA-1024',
      request: () => csrReq('tls-server', makeCsr({ keyType: 'rsa-1024', subject: '/CN=weak.example.com', sans: ['DNS:weak.example.com'] }).der),
      code: 'policy',
      message: /RSA key of 1024 bits is below the profile minimum of 2048/,
      rule: 'keys.rsa',
    },
    {
      name: 'a forbidden key: Ed25519 on tls-server',
      request: () => csrReq('tls-server', makeCsr({ keyType: 'ed25519', subject: '/CN=ed.example.com', sans: ['DNS:ed.example.com'] }).der),
      code: 'policy',
      message: /Ed25519 keys are not allowed/,
      rule: 'keys.ed25519',
    },
    {
      name: 'a wildcard on a profile without wildcards (tls-client)',
      request: () => csrReq('tls-client', makeCsr({ subject: '/CN=alice', sans: ['DNS:*.example.com'] }).der),
      code: 'policy',
      message: /\*\.example\.com/,
      rule: 'san.dns.wildcard',
    },
    {
      name: 'an IP SAN on a profile without IPs (tls-client)',
      request: () => csrReq('tls-client', makeCsr({ subject: '/CN=alice', sans: ['IP:192.0.2.7'] }).der),
      code: 'policy',
      message: /192\.0\.2\.7/,
      rule: 'san.ip',
    },
    {
      name: 'a subject attribute the profile does not list',
      request: () => csrReq('ocsp-signing', makeCsr({ subject: '/O=Evil/CN=responder' }).der),
      code: 'policy',
      message: /\bO\b/,
      rule: 'subject.unknown',
    },
    {
      name: 'validity out of bounds (36136:0:0:0)',
      request: () => csrReq('tls-server', good().der, { validity: { duration: '36136:0:0:0' } }),
      code: 'validity',
      message: /validity days must be 0-36135, got 36136/,
    },
    {
      name: 'validity in the past',
      request: () => csrReq('tls-server', good().der, { validity: { notAfter: '2001-01-01T00:00:00Z' } }),
      code: 'validity',
      message: /notAfter 2001-01-01T00:00:00Z/,
    },
    {
      name: 'a profile the principal may not use',
      request: () => ({ ...csrReq('tls-server', good().der), principal: { ...operator, id: 'client:limited', allowedProfiles: ['tls-client'] } }),
      code: 'forbiddenProfile',
      message: /not allowed to use profile "tls-server"/,
    },
    {
      name: 'a renewal of a certificate that does not exist',
      request: () => csrReq('tls-server', good().der, { replaces: { serial: '7f00112233445566778899aabbccddee', mode: 'renew' } }),
      code: 'notFound',
      message: /no certificate with serial 7f00112233445566778899aabbccddee/,
    },
    {
      name: 'a public key that is not a SubjectPublicKeyInfo',
      request: () => ({ principal: operator, profile: 'tls-server', key: { kind: 'spki', der: Buffer.from('3003020100', 'hex'), pop: 'verified-by-protocol' }, sans: [{ type: 'dns', value: 'k.example.com' }] }),
      code: 'malformed',
      message: /not a valid SubjectPublicKeyInfo/,
    },
    {
      name: 'an issuer that does not exist',
      request: () => csrReq('tls-server', good().der, { issuerId: 'no-such-ca' }),
      code: 'notFound',
      message: /unknown issuer "no-such-ca"/,
    },
    {
      name: 'an issuer other than the one the profile names',
      request: () => csrReq('pinned', good().der, { issuerId: 'dev-root' }),
      code: 'policy',
      message: /profile "pinned" is signed by issuer "dev-issuing", not "dev-root"/,
      rule: 'issuer',
    },
    {
      name: 'a disabled profile',
      request: () => csrReq('disabled', good().der),
      code: 'forbiddenProfile',
      message: /profile "disabled" is disabled/,
    },
    {
      name: 'an invalid subject DN string',
      request: () => csrReq('tls-server', good().der, { subject: 'CN=a,,=b' }),
      code: 'malformed',
      message: /invalid subject DN/,
    },
  ];

  it.each(cases)('$name', async (c) => {
    const req = c.request();
    const before = await rowCounts(t.ctx.db);
    const e = await expectIssuanceError(t.ctx.pipeline.issue(req), c.code, c.message);
    if (c.rule) expect(e.rule).toBe(c.rule);
    expect(await rowCounts(t.ctx.db)).toEqual(before);
    // The error never carries the request bytes or a stack trace in its message.
    expect(e.message).not.toMatch(/\n\s+at /);
  });

  it('a rejected request can be retried with the same idempotency key once fixed', async () => {
    const key = 'fix-and-retry';
    await expectIssuanceError(
      t.ctx.pipeline.issue(csrReq('tls-client', makeCsr({ subject: '/CN=bob', sans: ['IP:192.0.2.9'] }).der, { idempotencyKey: key })),
      'policy',
      /192\.0\.2\.9/,
    );
    const ok = await t.ctx.pipeline.issue(csrReq('tls-client', makeCsr({ subject: '/CN=bob', sans: ['DNS:bob.example.com'] }).der, { idempotencyKey: key }));
    expect(ok.status).toBe('issued');
  });
});
