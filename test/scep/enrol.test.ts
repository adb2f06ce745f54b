/**
 * RFC 8894 over real HTTP, on PGlite and PostgreSQL: GetCACaps/GetCACert (§3.5, §4.2), PKCSReq
 * with every cipher (§3.3.1), CertRep checked by this client and by openssl cms (§3.3.2),
 * transactions and replay (§3.2.1.1), RenewalReq (§3.3.1.2), CertPoll (§3.3.3), GetCert (§3.3.4).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { FailInfo, MessageType } from '../../protocols/scep/attributes.ts';
import { scepTransactions } from '../../protocols/scep/schema.ts';
import { certificates } from '../../src/db/schema.ts';
import { encodeIssuerAndSerial, encodeIssuerAndSubject } from '../../protocols/scep/content.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import type { ContentCipher } from '../../src/pki/cms.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';
import { drivers } from '../support/context.ts';
import { crlSerialsFromText, crlText, openssl, writeDer, writePem } from '../support/openssl.ts';
import { device, pemKey, pkiMessage, readCertRep, transactionIdFor, type Digest, type Requester } from './client.ts';
import { CHALLENGE, startScep, type ScepHarness } from './harness.ts';

const RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const SHA1 = '1.3.14.3.2.26';
const SHA256 = '2.16.840.1.101.3.4.2.1';

interface EnrolOptions {
  requester?: Requester;
  subject?: string;
  challenge?: string;
  cipher?: ContentCipher;
  digest?: Digest;
  tid?: string;
  messageType?: MessageType;
  content?: Buffer;
  label?: string;
  via?: 'GET' | 'POST';
}

async function send(h: ScepHarness, o: EnrolOptions = {}) {
  const requester = o.requester ?? device({ subject: o.subject ?? 'CN=device-1.example,O=Example', challenge: o.challenge ?? CHALLENGE });
  const tid = o.tid ?? transactionIdFor(requester.spki);
  const m = await pkiMessage({
    messageType: o.messageType ?? MessageType.PKCSReq,
    transactionID: tid,
    content: o.content ?? requester.csr,
    recipientCert: h.ra,
    cipher: o.cipher ?? 'aes-256-cbc',
    digest: o.digest ?? 'sha256',
    signerCert: requester.signerCert,
    signerKey: requester.signerKey,
  });
  const path = `/scep${o.label ? `/${o.label}` : ''}?operation=PKIOperation`;
  const res = o.via === 'GET' ? await h.get(`${path}&message=${encodeURIComponent(m.der.toString('base64'))}`) : await h.post(path, m.der);
  expect(res.status, res.body.toString()).toBe(200);
  expect(res.type).toBe('application/x-pki-message');
  const rep = await readCertRep(res.body, requester, h.ra);
  expect(rep.transactionID).toBe(tid);
  expect(rep.recipientNonce.equals(m.senderNonce)).toBe(true);
  return { rep, requester, tid, raw: res.body };
}

function verifyIssued(h: ScepHarness, der: Buffer, name: string): string {
  const file = writePem(h.dir, `${name}.pem`, der);
  const r = openssl(['verify', '-CAfile', h.rootFile, '-untrusted', h.chainFile, file]);
  expect(r.status, r.output).toBe(0);
  return file;
}

describe.each(drivers)('SCEP on %s', (driver) => {
  let h: ScepHarness;
  beforeAll(async () => {
    h = await startScep(driver, { labels: JSON.stringify({ held: { profile: 'device-held', challenge: CHALLENGE } }) });
    const device = await h.t.ctx.profiles.get('device');
    await h.t.ctx.profiles.create({ ...device!, name: 'device-held', manualApproval: true });
  }, 60_000);
  afterAll(async () => h?.close());

  describe('GetCACaps and GetCACert (§3.5)', () => {
    it('lists the capabilities the clients need, one per line', async () => {
      const r = await h.get('/scep?operation=GetCACaps');
      expect(r.status).toBe(200);
      expect(r.body.toString().trim().split('\n')).toEqual(['AES', 'DES3', 'SHA-256', 'SHA-384', 'SHA-512', 'SHA-1', 'POSTPKIOperation', 'Renewal', 'SCEPStandard']);
    });

    it('GetCACert is RA + CA as a degenerate PKCS#7; the RA signs and encrypts and chains to the root', async () => {
      const r = await h.get('/scep?operation=GetCACert');
      expect(r.type).toBe('application/x-x509-ca-ra-cert');
      const file = join(h.dir, 'cacert.p7');
      writeFileSync(file, r.body);
      const printed = openssl(['pkcs7', '-inform', 'DER', '-in', file, '-print_certs', '-noout']);
      expect(printed.status, printed.output).toBe(0);
      expect(printed.output).toMatch(/Certgate SCEP RA/);
      const ra = writePem(h.dir, 'ra.pem', h.ra);
      expect(openssl(['x509', '-in', ra, '-noout', '-ext', 'keyUsage']).output).toMatch(/Digital Signature, Key Encipherment/);
      expect(openssl(['verify', '-CAfile', h.rootFile, '-untrusted', h.chainFile, ra]).status).toBe(0);
    });

    it('also under /scep/<label> and /pkiclient.exe', async () => {
      expect((await h.get('/scep/held?operation=GetCACaps')).status).toBe(200);
      expect((await h.get('/scep/pkiclient.exe?operation=GetCACaps')).status).toBe(200);
    });
  });

  describe('PKCSReq (§3.3.1)', () => {
    it.each<[ContentCipher, Digest, ContentCipher]>([
      ['aes-128-cbc', 'sha256', 'aes-128-cbc'],
      ['aes-256-cbc', 'sha512', 'aes-256-cbc'],
      ['des-ede3-cbc', 'sha256', 'des-ede3-cbc'],
      ['des-cbc', 'sha1', 'des-ede3-cbc'],
    ])('%s with %s: SUCCESS, the certificate verifies; the reply is in %s', async (cipher, digest, replyCipher) => {
      const cn = `dev-${cipher}.example`;
      const { rep } = await send(h, { cipher, digest, subject: `CN=${cn},O=Example` });
      expect(rep.failInfoText).toBeUndefined();
      expect(rep.status).toBe(0);
      expect(rep.cipher).toBe(replyCipher);
      expect(rep.signatureAlgorithm).toBe(RSA_ENCRYPTION);
      expect(rep.digestAlgorithm).toBe(digest === 'sha1' ? SHA1 : digest === 'sha256' ? SHA256 : '2.16.840.1.101.3.4.2.3');
      expect(rep.certs).toHaveLength(1);
      const file = verifyIssued(h, rep.certs[0], cn);
      expect(openssl(['x509', '-in', file, '-noout', '-subject']).output).toMatch(new RegExp(`CN ?= ?${cn}`));
    });

    it('over GET with the message in base64 (certmonger)', async () => {
      const { rep } = await send(h, { via: 'GET', subject: 'CN=dev-get.example' });
      expect(rep.status).toBe(0);
      verifyIssued(h, rep.certs[0], 'dev-get');
    });

    it('openssl cms verifies the CertRep and decrypts its envelope with the requester key', async () => {
      const { rep, raw, requester } = await send(h, { subject: 'CN=dev-openssl.example' });
      expect(rep.status).toBe(0);
      const repFile = join(h.dir, 'rep.der');
      writeFileSync(repFile, raw);
      const env = join(h.dir, 'env.der');
      const v = openssl(['cms', '-verify', '-inform', 'DER', '-in', repFile, '-CAfile', h.rootFile, '-certfile', h.chainFile, '-binary', '-out', env]);
      expect(v.status, v.output).toBe(0);
      const keyFile = join(h.dir, 'req.key');
      writeFileSync(keyFile, pemKey(requester.key));
      const signer = writePem(h.dir, 'signer.pem', requester.signerCert);
      const certs = join(h.dir, 'certs.p7');
      const d = openssl(['cms', '-decrypt', '-inform', 'DER', '-in', env, '-inkey', keyFile, '-recip', signer, '-binary', '-out', certs]);
      expect(d.status, d.output).toBe(0);
      const p = openssl(['pkcs7', '-inform', 'DER', '-in', certs, '-print_certs', '-noout']);
      expect(p.output).toMatch(/subject=CN ?= ?dev-openssl/);
    });
  });

  describe('challenges', () => {
    it('a wrong challenge is FAILURE badRequest and nothing is issued', async () => {
      const before = await h.t.ctx.db.$count(certificates);
      const { rep } = await send(h, { challenge: 'wrong', subject: 'CN=dev-wrong.example' });
      expect(rep).toMatchObject({ status: 2, failInfo: FailInfo.badRequest });
      expect(await h.t.ctx.db.$count(certificates)).toBe(before);
    });

    it('a one-time challenge from the admin API works once', async () => {
      const op = await h.t.ctx.tokens.ensureOperator('scep-officer', 'officer');
      const token = await h.t.ctx.tokens.issue(op, 600);
      const r = await fetch(`${h.server.httpUrl}/api/v1/scep/challenges`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ttlSeconds: 600 }),
      });
      expect(r.status).toBe(201);
      const { challenge } = (await r.json()) as { challenge: string };
      expect((await send(h, { challenge, subject: 'CN=dev-otp-1.example' })).rep.status).toBe(0);
      expect((await send(h, { challenge, subject: 'CN=dev-otp-2.example' })).rep).toMatchObject({ status: 2, failInfo: FailInfo.badRequest });
    });
  });

  describe('transactions (§3.2.1.1)', () => {
    it('the same transaction with the same key returns the same certificate', async () => {
      const requester = device({ subject: 'CN=dev-replay.example', challenge: CHALLENGE });
      const a = await send(h, { requester });
      const b = await send(h, { requester });
      expect(a.rep.status).toBe(0);
      expect(b.rep.certs[0].equals(a.rep.certs[0])).toBe(true);
    });

    it('the same PKCSReq twice at once issues one certificate, returned to both', async () => {
      const requester = device({ subject: 'CN=dev-twins.example', challenge: CHALLENGE });
      const before = await h.t.ctx.db.$count(certificates);
      const [a, b] = await Promise.all([send(h, { requester }), send(h, { requester })]);
      expect(a.rep.status).toBe(0);
      expect(b.rep.certs[0].equals(a.rep.certs[0])).toBe(true);
      expect(await h.t.ctx.db.$count(certificates)).toBe(before + 1);
    });

    it('the same transaction with another key is FAILURE badRequest', async () => {
      const first = await send(h, { subject: 'CN=dev-tid.example' });
      const other = await send(h, { subject: 'CN=dev-tid.example', tid: first.tid });
      expect(other.rep).toMatchObject({ status: 2, failInfo: FailInfo.badRequest });
    });
  });

  describe('RenewalReq (§3.3.1.2)', () => {
    it('signed with the old certificate: a new certificate for the new key', async () => {
      const old = await send(h, { subject: 'CN=dev-renew.example' });
      const renewed = device({ subject: 'CN=dev-renew.example', signer: { cert: old.rep.certs[0], key: old.requester.key } });
      const { rep } = await send(h, { requester: renewed, messageType: MessageType.RenewalReq });
      expect(rep.status).toBe(0);
      verifyIssued(h, rep.certs[0], 'dev-renewed');
      expect(Buffer.from(parseCertificate(rep.certs[0]).spki).equals(renewed.spki)).toBe(true);
    });

    it('signed with a self-signed certificate: FAILURE badMessageCheck', async () => {
      const { rep } = await send(h, { messageType: MessageType.RenewalReq, subject: 'CN=dev-renew-self.example', challenge: undefined });
      expect(rep).toMatchObject({ status: 2, failInfo: FailInfo.badMessageCheck });
    });

    it('signed with a revoked certificate: FAILURE badMessageCheck', async () => {
      const old = await send(h, { subject: 'CN=dev-revoked.example' });
      const c = parseCertificate(old.rep.certs[0]);
      await h.t.ctx.revocation.revoke({ serial: c.serialHex }, 1, 'operator:test');
      const renewed = device({ subject: 'CN=dev-revoked.example', signer: { cert: old.rep.certs[0], key: old.requester.key } });
      const { rep } = await send(h, { requester: renewed, messageType: MessageType.RenewalReq });
      expect(rep).toMatchObject({ status: 2, failInfo: FailInfo.badMessageCheck });
    });
  });

  describe('manual approval: PENDING, then CertPoll (§3.3.3)', () => {
    /** The pipeline request a PENDING transaction is held as. */
    const heldRequest = async (tid: string) => {
      const [row] = await h.t.ctx.db.select().from(scepTransactions).where(eq(scepTransactions.transactionId, tid));
      expect(row?.status).toBe('pending');
      return row.requestId!;
    };
    const poll = (r: Requester, tid: string, label = 'held') =>
      send(h, {
        requester: r,
        tid,
        label,
        messageType: MessageType.CertPoll,
        content: encodeIssuerAndSubject({ issuer: Buffer.from(parseCertificate(h.chain[0]).subject), subject: encodeName(toEncodedAttributes(parseDn('CN=dev-held.example,O=Example'))) }),
      });

    it('PENDING; CertPoll PENDING; approved → the certificate; a replay of the PKCSReq → the same certificate', async () => {
      const requester = device({ subject: 'CN=dev-held.example,O=Example', challenge: CHALLENGE });
      const first = await send(h, { requester, label: 'held' });
      expect(first.rep.status).toBe(3);
      expect((await poll(requester, first.tid)).rep.status).toBe(3);
      await h.t.ctx.pipeline.approve(await heldRequest(first.tid), 'operator:test');
      const polled = await poll(requester, first.tid);
      expect(polled.rep.status).toBe(0);
      verifyIssued(h, polled.rep.certs[0], 'dev-held');
      const again = await send(h, { requester, label: 'held' });
      expect(again.rep.certs[0].equals(polled.rep.certs[0])).toBe(true);
    });

    it('rejected → CertPoll FAILURE', async () => {
      const requester = device({ subject: 'CN=dev-held.example,O=Example', challenge: CHALLENGE });
      const first = await send(h, { requester, label: 'held' });
      expect(first.rep.status).toBe(3);
      await h.t.ctx.pipeline.reject(await heldRequest(first.tid), 'operator:test', 'not ours');
      expect((await poll(requester, first.tid)).rep).toMatchObject({ status: 2, failInfo: FailInfo.badRequest });
    });

    it('CertPoll of a transaction issued at once returns its certificate', async () => {
      const requester = device({ subject: 'CN=dev-held.example,O=Example', challenge: CHALLENGE });
      const first = await send(h, { requester });
      expect(first.rep.status).toBe(0);
      const polled = await poll(requester, first.tid, '');
      expect(polled.rep.status).toBe(0);
      expect(polled.rep.certs[0].equals(first.rep.certs[0])).toBe(true);
    });

    it('CertPoll of an unknown transaction, or signed with another key: FAILURE badCertId', async () => {
      const stranger = device({ subject: 'CN=dev-held.example,O=Example' });
      expect((await poll(stranger, 'no-such-transaction')).rep).toMatchObject({ status: 2, failInfo: FailInfo.badCertId });
    });
  });

  describe('GetCert (§3.3.4)', () => {
    it('returns a certificate by issuer and serial; an unknown serial is badCertId', async () => {
      const issued = await send(h, { subject: 'CN=dev-getcert.example' });
      const c = parseCertificate(issued.rep.certs[0]);
      const asker = device({ subject: 'CN=asker.example' });
      const got = await send(h, { requester: asker, messageType: MessageType.GetCert, content: encodeIssuerAndSerial(c.issuer, c.serialHex) });
      expect(got.rep.status).toBe(0);
      expect(got.rep.certs[0].equals(issued.rep.certs[0])).toBe(true);
      const none = await send(h, { requester: asker, messageType: MessageType.GetCert, content: encodeIssuerAndSerial(c.issuer, '0123456789') });
      expect(none.rep).toMatchObject({ status: 2, failInfo: FailInfo.badCertId });
    });
  });

  describe('GetCRL (§3.3.4)', () => {
    it("returns the issuer's complete CRL, naming a certificate once it is revoked; openssl reads it", async () => {
      const issued = await send(h, { subject: 'CN=dev-getcrl.example' });
      const c = parseCertificate(issued.rep.certs[0]);
      const getCrl = () => send(h, { requester: issued.requester, messageType: MessageType.GetCRL, content: encodeIssuerAndSerial(c.issuer, c.serialHex) });
      const before = await getCrl();
      expect(before.rep.status).toBe(0);
      expect(before.rep.certs).toEqual([]);
      expect(before.rep.crls).toHaveLength(1);
      expect(crlSerialsFromText(crlText(before.rep.crls[0]))).not.toContain(c.serialHex.toLowerCase());
      await h.t.ctx.revocation.revoke({ issuerId: issuerIdOf(h, issued.rep.certs[0]), serial: c.serialHex }, 1, 'test');
      const after = await getCrl();
      expect(after.rep.status).toBe(0);
      const text = crlText(after.rep.crls[0]);
      expect(crlSerialsFromText(text)).toContain(c.serialHex.toLowerCase());
      expect(text).toMatch(/Key Compromise/);
      // Signed by the issuing CA (openssl checks the signature against it).
      const crlFile = writeDer(h.dir, 'getcrl.crl', after.rep.crls[0]);
      const v = openssl(['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-CAfile', h.chainFile]);
      expect(v.status, v.output).toBe(0);
      expect(v.output).toMatch(/verify OK/);
    });

    it('an issuer that is not ours is badCertId; a malformed IssuerAndSerialNumber is badRequest', async () => {
      const asker = device({ subject: 'CN=asker-crl.example' });
      const stranger = encodeName(toEncodedAttributes(parseDn('CN=Some Other CA,O=Elsewhere')));
      const unknown = await send(h, { requester: asker, messageType: MessageType.GetCRL, content: encodeIssuerAndSerial(stranger, '01') });
      expect(unknown.rep).toMatchObject({ status: 2, failInfo: FailInfo.badCertId });
      const bad = await send(h, { requester: asker, messageType: MessageType.GetCRL, content: Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]) });
      expect(bad.rep).toMatchObject({ status: 2, failInfo: FailInfo.badRequest });
    });
  });
});

function issuerIdOf(h: ScepHarness, certDer: Buffer): string {
  const issuer = parseCertificate(certDer).issuer;
  const found = h.t.ctx.issuers.list().find((i) => i.subjectDer.equals(Buffer.from(issuer)));
  if (!found) throw new Error('issuer not found');
  return found.id;
}
