/**
 * Bad input (issue 15 §6): each refusal is an `error` PKIMessage (signed by the CA when the
 * sender's MAC cannot be used) or HTTP 400 when the body is not a PKIMessage — never a 5xx — and
 * no certificate is written.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificates } from '../../src/db/schema.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { encodeGenContent } from '../../src/pki/cmp-info-type-value.ts';
import { cmpTransactions } from '../../protocols/cmp/schema.ts';
import { PKIStatus } from '../../src/pki/cmp-status-info.ts';
import { drivers } from '../support/context.ts';
import { makeCsr } from '../support/openssl.ts';
import { certConfBody, crmfBody, decodeAnswer, failInfoOf, header, issuedCert, makeCmpEnv, newKey, protect, verifiesWith, type CmpEnv } from './client.ts';

describe.each(drivers)('CMP bad input (%s)', (driver) => {
  let env: CmpEnv;
  let mac: { kind: 'pbm'; ref: string; secret: string };
  const certCount = async () => (await env.t.ctx.db.select({ n: count() }).from(certificates))[0].n;
  const issuingDer = () => env.t.ctx.issuers.peek('dev-issuing')!.certDer;

  beforeAll(async () => {
    env = await makeCmpEnv(driver);
    const s = await env.secret();
    mac = { kind: 'pbm', ...s };
  }, 60_000);
  afterAll(async () => env?.close());

  /** Posts, expects HTTP 200 + an error PKIMessage with `bit`, and no new certificate. */
  const refused = async (der: Buffer, bit: string, signed = false) => {
    const before = await certCount();
    const r = await env.post(der);
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/pkixcmp');
    const m = decodeAnswer(r.der);
    expect(failInfoOf(m)).toEqual([bit]);
    if (signed) {
      // Signed by the CMP signer identity (first in extraCerts), which the issuing CA certified.
      const signer = new X509Certificate(m.extraCerts![0]);
      expect(signer.checkIssued(new X509Certificate(issuingDer()))).toBe(true);
      expect(signer.verify(new X509Certificate(issuingDer()).publicKey)).toBe(true);
      expect(verifiesWith(m, m.extraCerts![0])).toBe(true);
    }
    expect(await certCount()).toBe(before);
    return m;
  };

  it('wrong MAC: badMessageCheck, signed by the CMP signer identity (the secret is not trusted)', async () => {
    await refused(protect(header(), crmfBody('ir', 'wrong-mac', newKey()), { ...mac, secret: mac.secret + 'x' }), 'badMessageCheck', true);
  });

  it('a tampered MAC value: badMessageCheck', async () => {
    await refused(protect(header(), crmfBody('ir', 'tampered', newKey()), mac, true), 'badMessageCheck', true);
  });

  it('unknown reference: the same badMessageCheck (no oracle for references)', async () => {
    await refused(protect(header(), crmfBody('ir', 'unknown-ref', newKey()), { ...mac, ref: 'no-such-ref' }), 'badMessageCheck', true);
  });

  it('unprotected request: badMessageCheck', async () => {
    const { encodePKIMessage } = await import('../../src/pki/cmp-message.ts');
    await refused(encodePKIMessage({ header: header(), body: crmfBody('ir', 'unprotected', newKey()) }), 'badMessageCheck', true);
  });

  it('iteration count above the cap: badAlg', async () => {
    await refused(protect(header(), crmfBody('ir', 'iterations', newKey()), { ...mac, iterations: 100_000 }), 'badAlg', true);
  });

  it('POP that does not verify: badPOP, MAC-protected answer', async () => {
    const m = await refused(protect(header(), crmfBody('ir', 'bad-pop', newKey(), { badPop: true }), mac), 'badPOP');
    expect(m.header.protectionAlg?.oid).toBe('1.2.840.113533.7.66.13');
  });

  it('no POP: badPOP', async () => {
    await refused(protect(header(), crmfBody('ir', 'no-pop', newKey(), { noPop: true }), mac), 'badPOP');
  });

  it('replayed transactionID: transactionIdInUse, one certificate only', async () => {
    const tid = randomBytes(16);
    const before = await certCount();
    const first = await env.post(protect(header({ transactionID: tid, implicit: true }), crmfBody('ir', 'replay-tid', newKey()), mac));
    issuedCert(decodeAnswer(first.der));
    expect(await certCount()).toBe(before + 1);
    await refused(protect(header({ transactionID: tid, implicit: true }), crmfBody('ir', 'replay-tid', newKey()), mac), 'transactionIdInUse');
  });

  it('the very same message replayed: refused, nothing issued twice', async () => {
    const der = protect(header({ implicit: true }), crmfBody('ir', 'replay-msg', newKey()), mac);
    issuedCert(decodeAnswer((await env.post(der)).der));
    await refused(der, 'transactionIdInUse');
  });

  it('implicit confirm: the transaction row goes in with the certificate (confirmed, its issuer and serial); its transactionID is then spent for any message', async () => {
    const tid = randomBytes(16);
    const cert = parseCertificate(issuedCert(decodeAnswer((await env.post(protect(header({ transactionID: tid, implicit: true }), crmfBody('ir', 'folded-claim', newKey()), mac))).der)));
    const [row] = await env.t.ctx.db.select().from(cmpTransactions).where(eq(cmpTransactions.transactionId, tid.toString('hex')));
    expect(row).toMatchObject({ state: 'confirmed', bodyType: 'ir', issuerId: 'dev-issuing', serial: cert.serialHex, certReqId: '0', sender: `ref:${mac.ref}` });
    expect(row.protection).toMatchObject({ implicit: true, answer: 'ip' });
    await refused(protect(header({ transactionID: tid }), { type: 'genm', content: encodeGenContent([]) }, mac), 'transactionIdInUse');
  });

  it('one certificate per transaction: a transactionID that issued by p10cr is refused to a later ir', async () => {
    const tid = randomBytes(16);
    const csr = makeCsr({ subject: '/CN=p10-then-ir.example', sans: ['DNS:p10-then-ir.example'] });
    issuedCert(decodeAnswer((await env.post(protect(header({ transactionID: tid, implicit: true }), { type: 'p10cr', content: csr.der }, mac))).der));
    await refused(protect(header({ transactionID: tid, implicit: true }), crmfBody('ir', 'p10-then-ir', newKey()), mac), 'transactionIdInUse');
  });

  it('the same message twice at once: one certificate, the other answer transactionIdInUse', async () => {
    const der = protect(header({ implicit: true }), crmfBody('ir', 'replay-race', newKey()), mac);
    const before = await certCount();
    const answers = (await Promise.all([env.post(der), env.post(der)])).map((r) => decodeAnswer(r.der));
    expect(answers.map((m) => m.body.type).sort()).toEqual(['error', 'ip']);
    expect(failInfoOf(answers.find((m) => m.body.type === 'error')!)).toEqual(['transactionIdInUse']);
    expect(await certCount()).toBe(before + 1);
  });

  it('certConf: wrong recipNonce, wrong hash, then the right one, then a replay', async () => {
    const tid = randomBytes(16);
    const ip = decodeAnswer((await env.post(protect(header({ transactionID: tid }), crmfBody('ir', 'confirm-me', newKey()), mac))).der);
    const cert = issuedCert(ip);
    await refused(protect(header({ transactionID: tid, recipNonce: randomBytes(16) }), certConfBody(cert), mac), 'badRecipientNonce');
    await refused(protect(header({ transactionID: tid, recipNonce: ip.header.senderNonce }), certConfBody(cert, { wrongHash: true }), mac), 'badCertId');
    const ok = decodeAnswer((await env.post(protect(header({ transactionID: tid, recipNonce: ip.header.senderNonce }), certConfBody(cert), mac))).der);
    expect(ok.body.type).toBe('pkiconf');
    await refused(protect(header({ transactionID: tid, recipNonce: ip.header.senderNonce }), certConfBody(cert), mac), 'badRecipientNonce');
    await refused(protect(header({ transactionID: tid, recipNonce: ok.header.senderNonce }), certConfBody(cert), mac), 'badRequest');
  });

  it('certConf from another reference: notAuthorized', async () => {
    const tid = randomBytes(16);
    const ip = decodeAnswer((await env.post(protect(header({ transactionID: tid }), crmfBody('ir', 'other-ref', newKey()), mac))).der);
    const other = { kind: 'pbm' as const, ...(await env.secret()) };
    await refused(protect(header({ transactionID: tid, recipNonce: ip.header.senderNonce }), certConfBody(issuedCert(ip)), other), 'notAuthorized');
  });

  it('short transactionID or nonce, and pvno 1: refused in CMP', async () => {
    await refused(protect(header({ transactionID: randomBytes(4) }), crmfBody('ir', 'short-tid', newKey()), mac), 'badRequest', true);
    await refused(protect(header({ senderNonce: randomBytes(4) }), crmfBody('ir', 'short-nonce', newKey()), mac), 'badSenderNonce', true);
    await refused(protect(header({ pvno: 1 }), crmfBody('ir', 'pvno', newKey()), mac), 'unsupportedVersion', true);
  });

  it('a template public key that is not a SubjectPublicKeyInfo: badCertTemplate (no key generated for it)', async () => {
    const { encodeCertReqMessages } = await import('../../src/pki/crmf-cert-req-messages.ts');
    const { integer, seq } = await import('../../src/pki/der.ts');
    const content = encodeCertReqMessages([{ certReq: { certReqId: 0n, certTemplate: { publicKey: seq(integer(5)) } } }]);
    await refused(protect(header(), { type: 'ir', content }, mac), 'badCertTemplate');
  });

  it('a header that reads but a body that does not: badDataFormat', async () => {
    await refused(protect(header(), { type: 'ir', content: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]) }, mac), 'badDataFormat');
  });

  it('a profile refusal maps to a CMP failInfo by code (subject CN missing → badCertTemplate)', async () => {
    const { encodeName } = await import('../../src/pki/name.ts');
    const k = newKey();
    const body = crmfBody('ir', 'x', k);
    const { encodeCertReqMessages, encodeCertRequest } = await import('../../src/pki/crmf-cert-req-messages.ts');
    const { sign } = await import('node:crypto');
    const certReq = { certReqId: 0n, certTemplate: { subject: encodeName([]), publicKey: k.spki } };
    body.content = encodeCertReqMessages([{ certReq, popo: { kind: 'signature', algorithm: { oid: '1.2.840.10045.4.3.2' }, signature: sign('sha256', encodeCertRequest(certReq), k.privateKey) } }]);
    await refused(protect(header(), body, mac), 'badCertTemplate');
  });

  describe('not a PKIMessage: HTTP 400, never 5xx', () => {
    const bad = async (body: Buffer) => {
      const before = await certCount();
      const r = await env.post(body);
      expect(r.status).toBe(400);
      expect(r.der.toString()).not.toMatch(/at .*\.ts|Error:/);
      expect(await certCount()).toBe(before);
    };
    it('a length beyond the body', () => bad(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30, 0x00])));
    it('indefinite length', () => bad(Buffer.from([0x30, 0x80, 0x00, 0x00])));
    it('a wrong outer tag', () => bad(Buffer.from([0x31, 0x03, 0x02, 0x01, 0x00])));
    it('10,000-deep nesting with definite lengths', () => {
      let inner = Buffer.from([0x05, 0x00]);
      for (let i = 0; i < 10_000; i++) {
        const n = inner.length;
        const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
        inner = Buffer.concat([Buffer.from([0x30, ...len]), inner]);
      }
      return bad(inner);
    });
    it('a NUL byte and text', () => bad(Buffer.from('\u0000hello')));
    it('an empty body', () => bad(Buffer.alloc(0)));
    it('an oversized body', async () => {
      const r = await env.post(Buffer.alloc(300 * 1024, 0x30));
      expect([400, 413]).toContain(r.status);
    });
  });

  it('GET is 405; an unknown alias 404', async () => {
    expect((await fetch(`${env.url}/cmp`)).status).toBe(405);
    expect((await env.post(Buffer.from([0x30, 0x00]), '/cmp/no-such-alias')).status).toBe(404);
  });

  it('PBMAC1 protection (RFC 9481): accepted, answered with PBMAC1', async () => {
    const p = { ...mac, kind: 'pbmac1' as const };
    const ip = decodeAnswer((await env.post(protect(header({ implicit: true }), crmfBody('ir', 'pbmac1', newKey()), p))).der);
    expect(ip.header.protectionAlg?.oid).toBe('1.2.840.113549.1.5.14');
    issuedCert(ip);
    const { pbmac1Mac, pbmac1ParameterFromDer } = await import('../../src/pki/cmp-pbmac1.ts');
    expect(pbmac1Mac(pbmac1ParameterFromDer(ip.header.protectionAlg!.params!), Buffer.from(mac.secret), ip.protectedPart).equals(ip.protection!)).toBe(true);
    expect(PKIStatus.accepted).toBe(0);
  });
});
