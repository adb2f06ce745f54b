/**
 * Bad input (RFC 8894 §3.3.2.2 and the rules): client mistakes inside a readable pkiMessage
 * are signed CertReps with a failInfo — an undecryptable envelope and a bad signature get the
 * SAME answer; what cannot carry a CertRep is HTTP 400 text/plain; nothing is ever a 500; and
 * nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailInfo, MessageType } from '../../protocols/scep/attributes.ts';
import { scepTransactions } from '../../protocols/scep/schema.ts';
import { certificates } from '../../src/db/schema.ts';
import { buildSignedData } from '../../src/pki/cms.ts';
import { drivers } from '../support/context.ts';
import { device, keySigner, pkiMessage, readCertRep, rsaKey, selfSigned, transactionIdFor, type Requester } from './client.ts';
import { CHALLENGE, startScep, startWebhook, type ScepHarness } from './harness.ts';

describe.each(drivers)('SCEP bad input on %s', (driver) => {
  let h: ScepHarness;
  let hook: Awaited<ReturnType<typeof startWebhook>>;
  let hookStatus = 204;
  beforeAll(async () => {
    hook = await startWebhook(() => hookStatus);
    h = await startScep(driver, { labels: JSON.stringify({ hooked: { profile: 'device', webhookUrl: hook.url } }), maxMessageBytes: 16_384 });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await hook?.close();
  });

  /** Certificates and SCEP transactions stored: bad input changes neither. */
  const count = async () => `${await h.t.ctx.db.$count(certificates)}/${await h.t.ctx.db.$count(scepTransactions)}`;

  async function message(o: { cipher?: 'aes-256-cbc'; recipient?: Buffer; requester?: Requester; messageType?: MessageType; content?: Buffer } = {}) {
    const requester = o.requester ?? device({ subject: 'CN=bad-1.example', challenge: CHALLENGE });
    const m = await pkiMessage({
      messageType: o.messageType ?? MessageType.PKCSReq,
      transactionID: transactionIdFor(requester.spki),
      content: o.content ?? requester.csr,
      recipientCert: o.recipient ?? h.ra,
      cipher: o.cipher ?? 'aes-256-cbc',
      digest: 'sha256',
      signerCert: requester.signerCert,
      signerKey: requester.signerKey,
    });
    return { ...m, requester };
  }

  async function rep(der: Buffer, requester: Requester, path = '/scep?operation=PKIOperation') {
    const r = await h.post(path, der);
    expect(r.status).toBe(200);
    return readCertRep(r.body, requester, h.ra);
  }

  describe('HTTP 400 text/plain, nothing stored', () => {
    it.each([
      ['junk', Buffer.from('not DER at all')],
      ['truncated DER', Buffer.from([0x30, 0x82, 0x10, 0x00, 0x06])],
      ['a NUL byte', Buffer.from([0])],
      ['a certificate instead of a pkiMessage', () => h.ra],
    ])('POST %s', async (_n, body) => {
      const before = await count();
      const r = await h.post('/scep?operation=PKIOperation', typeof body === 'function' ? body() : body);
      expect(r.status).toBe(400);
      expect(r.type).toMatch(/^text\/plain/);
      expect(await count()).toBe(before);
    });

    it('a SignedData without SCEP attributes', async () => {
      const key = rsaKey();
      const cert = selfSigned(key);
      const der = await buildSignedData({ content: Buffer.from('hello'), signer: keySigner(key), signerCert: cert });
      const r = await h.post('/scep?operation=PKIOperation', der);
      expect(r.status).toBe(400);
      expect(r.body.toString()).toMatch(/messageType/);
    });

    it.each([
      ['/scep', /missing operation/],
      ['/scep?operation=Nope', /unknown operation/],
      ['/scep?operation=PKIOperation', /missing or not base64/],
      ['/scep?operation=PKIOperation&message=%%%', /missing or not base64/],
      ['/scep?operation=PKIOperation&message=AAAA', /not a CMS SignedData/],
    ])('GET %s', async (path, message) => {
      const r = await h.get(path);
      expect(r.status).toBe(400);
      expect(r.body.toString()).toMatch(message);
    });

    it('an unknown label is 404; an oversized body is 413', async () => {
      expect((await h.get('/scep/nope?operation=GetCACaps')).status).toBe(404);
      expect((await h.post('/scep?operation=PKIOperation', Buffer.alloc(20_000, 0x30))).status).toBe(413);
    });
  });

  describe('signed CertRep FAILURE, the same answer for a bad signature and a bad envelope', () => {
    it('envelope for another recipient, and a flipped signature byte: identical failInfo and text', async () => {
      const before = await count();
      const stranger = selfSigned(rsaKey());
      const a = await message({ recipient: stranger });
      const repA = await rep(a.der, a.requester);
      const b = await message();
      const der = Buffer.from(b.der);
      der[der.length - 5] ^= 0x01; // inside the signature value, the last element
      const repB = await rep(der, b.requester);
      expect(repA).toMatchObject({ status: 2, failInfo: FailInfo.badMessageCheck });
      expect(repB).toMatchObject({ status: 2, failInfo: FailInfo.badMessageCheck });
      expect(repA.failInfoText).toBe(repB.failInfoText);
      expect(await count()).toBe(before);
    });

    it('a PKCSReq signed with another key than the CSR\'s: badMessageCheck', async () => {
      const other = rsaKey();
      const requester = device({ subject: 'CN=bad-2.example', challenge: CHALLENGE, signer: { cert: selfSigned(other), key: other } });
      const m = await message({ requester });
      expect(await rep(m.der, requester)).toMatchObject({ status: 2, failInfo: FailInfo.badMessageCheck });
    });

    it('content that is not a CSR: badRequest', async () => {
      const m = await message({ content: Buffer.from('nope') });
      expect(await rep(m.der, m.requester)).toMatchObject({ status: 2, failInfo: FailInfo.badRequest });
    });

    it('a subject the profile refuses: badRequest, nothing stored', async () => {
      const before = await count();
      const requester = device({ subject: 'CN=bad-3.example,C=US', challenge: CHALLENGE });
      const m = await message({ requester });
      expect(await rep(m.der, requester)).toMatchObject({ status: 2, failInfo: FailInfo.badRequest });
      expect(await count()).toBe(before);
    });
  });

  describe('validation webhook', () => {
    it('2xx issues and the hook saw the CSR and transaction; 403 refuses', async () => {
      hookStatus = 204;
      const ok = await message();
      expect((await rep(ok.der, ok.requester, '/scep/hooked?operation=PKIOperation')).status).toBe(0);
      expect(hook.seen.at(-1)).toMatchObject({ label: 'hooked', transactionId: transactionIdFor(ok.requester.spki), messageType: 'PKCSReq', csr: ok.requester.csr.toString('base64') });
      hookStatus = 403;
      const no = await message();
      expect(await rep(no.der, no.requester, '/scep/hooked?operation=PKIOperation')).toMatchObject({ status: 2, failInfo: FailInfo.badRequest });
    });
  });
});
