/**
 * /fullcmc (RFC 7030 §4.3, RFC 5272): Full PKI Requests built from the src/pki CMC structures —
 * PKCS#10 and CRMF, transactionId, senderNonce, identification, identityProofV2 — answered with a
 * Full PKI Response signed by the issuing CA (checked with `openssl cms -verify` too), and the
 * failures as CMCStatusInfoV2 failInfo, writing nothing.
 */
import { X509Certificate, randomBytes, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabelStore } from '../../protocols/est/labels.ts';
import { UserStore } from '../../protocols/est/users.ts';
import { SoftwareSigner } from '../../src/ca/signer.ts';
import { createProtocolContext } from '../../src/protocol-context-impl.ts';
import { buildTbsCertificate, randomSerial, signTbs, signatureAlgorithmFor } from '../../src/pki/certificate.ts';
import { decodeOctets, decodeTransactionId, encodeIdentification, encodeIdentityProofV2, encodeNonce, encodeTransactionId, identityWitness } from '../../src/pki/cmc-controls.ts';
import { cmcOids } from '../../src/pki/cmc-oids.ts';
import { encodePkiData, encodeReqSequence } from '../../src/pki/cmc-pki-data.ts';
import { decodePkiResponse } from '../../src/pki/cmc-pki-response.ts';
import { decodeCmcStatusInfoV2 } from '../../src/pki/cmc-status-info-v2.ts';
import type { TaggedAttribute } from '../../src/pki/cmc-tagged-attribute.ts';
import type { TaggedRequest } from '../../src/pki/cmc-tagged-request.ts';
import { buildSignedData, parseSignedData, verifySigner } from '../../src/pki/cms-signed-data.ts';
import { encodeCertReqMsg } from '../../src/pki/crmf-cert-req-msg.ts';
import { subjectAltName } from '../../src/pki/extensions.ts';
import { encodeName, toEncodedAttributes } from '../../src/pki/name.ts';
import { seq } from '../../src/pki/der.ts';
import { rowCounts } from '../issuance/helpers.ts';
import { drivers } from '../support/context.ts';
import { opensslOk, removeTempDirs, tempDir, writeDer, writePem } from '../support/openssl.ts';
import { b64, call, makeCsr, newKey, startEst, type EstHarness } from './helpers.ts';

const CMC = 'application/pkcs7-mime; smime-type=CMC-request';
type Key = ReturnType<typeof newKey>;

function selfSigned(key: Key): Buffer {
  const name = encodeName(toEncodedAttributes([{ type: 'CN', value: 'cmc requester' }]));
  const tbs = buildTbsCertificate({
    serial: randomSerial(),
    signatureAlgorithm: signatureAlgorithmFor(key.privateKey).algorithmIdentifier,
    issuer: name,
    subject: name,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    spki: key.publicKey.export({ format: 'der', type: 'spki' }),
    extensions: [],
  });
  return signTbs(tbs, key.privateKey);
}

interface Built {
  body: Buffer;
  transactionId: bigint;
  nonce: Buffer;
}

async function fullRequest(o: { request: TaggedRequest; signWith: Key; signerCert?: Buffer; identity?: { name: string; secret: string } }): Promise<Built> {
  const transactionId = BigInt(`0x${randomBytes(6).toString('hex')}`);
  const nonce = randomBytes(16);
  const reqSeq = encodeReqSequence([o.request]);
  const controls: TaggedAttribute[] = [
    { bodyPartId: 1, type: cmcOids.transactionId, values: [encodeTransactionId(transactionId)] },
    { bodyPartId: 2, type: cmcOids.senderNonce, values: [encodeNonce(nonce)] },
  ];
  if (o.identity) {
    const p = { proofHash: 'sha256' as const, macHash: 'sha256' as const };
    controls.push({ bodyPartId: 3, type: cmcOids.identification, values: [encodeIdentification(o.identity.name)] });
    controls.push({ bodyPartId: 4, type: cmcOids.identityProofV2, values: [encodeIdentityProofV2({ ...p, witness: identityWitness(p, Buffer.from(o.identity.secret), reqSeq) })] });
  }
  const content = encodePkiData({ controls, requests: [o.request], cms: [], other: [] });
  const body = await buildSignedData({ content, contentType: cmcOids.pkiData, signer: new SoftwareSigner(o.signWith.privateKey), signerCert: o.signerCert ?? selfSigned(o.signWith) });
  return { body, transactionId, nonce };
}

describe.each(drivers)('EST fullcmc (%s)', (driver) => {
  let h: EstHarness;
  let pw: string;
  let heldPw: string;
  let dir: string;

  beforeAll(async () => {
    h = await startEst(driver);
    dir = tempDir();
    const pctx = createProtocolContext(h.t.ctx, 'est');
    await new LabelStore(pctx).add({ name: 'cmc', profile: 'device', auth: 'basic' }, 'test');
    pw = (await new UserStore(pctx).add('cmc', 'dev', 'test')).password;
    const device = (await h.t.ctx.profiles.get('device'))!;
    await h.t.ctx.profiles.create({ ...device, name: 'device-held', manualApproval: true });
    await new LabelStore(pctx).add({ name: 'cmc-held', profile: 'device-held', auth: 'basic' }, 'test');
    heldPw = (await new UserStore(pctx).add('cmc-held', 'dev', 'test')).password;
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    removeTempDirs();
  });

  const send = (b: Built, basic: [string, string] = ['dev', pw]) => call(h, '/.well-known/est/cmc/fullcmc', { body: b64(b.body), contentType: CMC, basic });

  /** Reads a Full PKI Response; checks the CA's signature and the echoed controls. */
  function readResponse(text: string, b: Built) {
    const der = Buffer.from(text, 'base64');
    const sd = parseSignedData(der);
    expect(sd.contentType).toBe(cmcOids.pkiResponse);
    const issuer = h.t.ctx.issuers.defaultIssuer()!;
    expect(verifySigner(sd, 0, issuer.certDer).ok).toBe(true);
    const resp = decodePkiResponse(sd.content!);
    const ctl = (t: string) => resp.controls.find((c) => c.type === t)?.values[0];
    expect(decodeTransactionId(ctl(cmcOids.transactionId)!)).toBe(b.transactionId);
    expect(decodeOctets(ctl(cmcOids.recipientNonce)!, 'recipientNonce').equals(b.nonce)).toBe(true);
    return { der, sd, status: decodeCmcStatusInfoV2(ctl(cmcOids.statusInfoV2)!) };
  }

  function opensslChecks(der: Buffer, leaf: Buffer) {
    const issuer = h.t.ctx.issuers.defaultIssuer()!;
    const root = writePem(dir, 'root.pem', issuer.chain[issuer.chain.length - 1]);
    const file = writeDer(dir, `resp-${Math.random()}.der`, der);
    opensslOk(['cms', '-verify', '-inform', 'DER', '-in', file, '-CAfile', root, '-purpose', 'any', '-out', `${file}.content`]);
    const chain = writePem(dir, `chain-${Math.random()}.pem`, issuer.chain.slice(0, -1));
    const cert = writePem(dir, `leaf-${Math.random()}.pem`, leaf);
    expect(opensslOk(['verify', '-CAfile', root, '-untrusted', chain, cert])).toContain(': OK');
  }

  it('PKCS#10 with transactionId, senderNonce, identification and identityProofV2: success and the certificate', async () => {
    const key = newKey();
    const csr = makeCsr({ key, subject: [{ type: 'CN', value: 'cmc1.example' }] });
    const b = await fullRequest({ request: { kind: 'pkcs10', bodyPartId: 5, der: csr }, signWith: key, identity: { name: 'dev', secret: pw } });
    const r = await send(b);
    expect(r.status, r.text).toBe(200);
    expect(r.headers['content-type']).toBe('application/pkcs7-mime; smime-type=CMC-response');
    const { der, sd, status } = readResponse(r.text, b);
    expect(status).toMatchObject({ status: 'success', bodyList: [5] });
    const leaf = sd.certificates.find((c) => new X509Certificate(c).subject === 'CN=cmc1.example')!;
    expect(leaf).toBeDefined();
    opensslChecks(der, leaf);
  });

  it('CRMF with a signature proof of possession: success', async () => {
    const key = newKey();
    const spki = key.publicKey.export({ format: 'der', type: 'spki' });
    const alg = signatureAlgorithmFor(key.privateKey);
    const msg = encodeCertReqMsg({
      certReqId: 7,
      subject: encodeName(toEncodedAttributes([{ type: 'CN', value: 'crmf.example' }])),
      spki,
      extensions: seq(subjectAltName([{ type: 'dns', value: 'crmf.example' }])),
      signatureAlgorithm: alg.algorithmIdentifier,
      sign: (d) => sign(alg.hash, d, key.privateKey),
    });
    const b = await fullRequest({ request: { kind: 'crmf', bodyPartId: 7, der: msg }, signWith: key });
    const r = await send(b);
    expect(r.status, r.text).toBe(200);
    const { der, sd, status } = readResponse(r.text, b);
    expect(status).toMatchObject({ status: 'success', bodyList: [7] });
    const leaf = sd.certificates.find((c) => new X509Certificate(c).subject === 'CN=crmf.example')!;
    expect(new X509Certificate(leaf).subjectAltName).toBe('DNS:crmf.example');
    opensslChecks(der, leaf);
  });

  it('PKIData signed with a valid certificate this CA issued (a new key for an enrolled device): success', async () => {
    const old = newKey();
    const first = await call(h, '/.well-known/est/cmc/simpleenroll', { body: b64(makeCsr({ key: old, subject: [{ type: 'CN', value: 'cmc-old.example' }] })), contentType: 'application/pkcs10', basic: ['dev', pw] });
    expect(first.status, first.text).toBe(200);
    const oldCert = parseSignedData(Buffer.from(first.text, 'base64')).certificates[0];
    const key = newKey();
    const b = await fullRequest({ request: { kind: 'pkcs10', bodyPartId: 9, der: makeCsr({ key, subject: [{ type: 'CN', value: 'cmc-old.example' }] }) }, signWith: old, signerCert: oldCert });
    const r = await send(b);
    expect(r.status, r.text).toBe(200);
    expect(readResponse(r.text, b).status).toMatchObject({ status: 'success', bodyList: [9] });
  });

  it('manual approval: 202 with CMC pending and pendInfo; the same request after approval: success', async () => {
    const key = newKey();
    const csr = makeCsr({ key, subject: [{ type: 'CN', value: 'cmc-held.example' }] });
    const post = (b: Built) => call(h, '/.well-known/est/cmc-held/fullcmc', { body: b64(b.body), contentType: CMC, basic: ['dev', heldPw] });
    const b1 = await fullRequest({ request: { kind: 'pkcs10', bodyPartId: 5, der: csr }, signWith: key });
    const r1 = await post(b1);
    expect(r1.status, r1.text).toBe(202);
    expect(r1.headers['retry-after']).toBe('60');
    const s1 = readResponse(r1.text, b1).status;
    expect(s1.status).toBe('pending');
    const pending = await h.t.ctx.pipeline.listRequests('pending');
    expect(s1.pendInfo?.token.toString()).toBe(pending[0].id);
    await h.t.ctx.pipeline.approve(pending[0].id, 'operator:test');
    const b2 = await fullRequest({ request: { kind: 'pkcs10', bodyPartId: 5, der: csr }, signWith: key });
    const r2 = await post(b2);
    expect(r2.status, r2.text).toBe(200);
    expect(readResponse(r2.text, b2).status.status).toBe('success');
  });

  describe('failures: CMCStatusInfoV2 failed with failInfo, nothing written', () => {
    async function failed(b: Built, http: number, failInfo: string) {
      const before = await rowCounts(h.t.ctx.db);
      const r = await send(b);
      expect(r.status, r.text).toBe(http);
      const { status } = readResponse(r.text, b);
      expect(status.status).toBe('failed');
      expect(status.failInfo).toBe(failInfo);
      expect((await rowCounts(h.t.ctx.db)).certificates).toBe(before.certificates);
      return status;
    }
    it('a wrong identityProofV2 → badIdentity', async () => {
      const key = newKey();
      const b = await fullRequest({ request: { kind: 'pkcs10', bodyPartId: 5, der: makeCsr({ key, subject: [{ type: 'CN', value: 'id.example' }] }) }, signWith: key, identity: { name: 'dev', secret: 'not-the-password' } });
      await failed(b, 403, 'badIdentity');
    });
    it('PKIData signed by a certificate this CA did not issue → badIdentity', async () => {
      const key = newKey();
      const b = await fullRequest({ request: { kind: 'pkcs10', bodyPartId: 5, der: makeCsr({ key, subject: [{ type: 'CN', value: 'sig.example' }] }) }, signWith: newKey() });
      await failed(b, 403, 'badIdentity');
    });
    it('a PKCS#10 whose signature fails → popFailed', async () => {
      const key = newKey();
      const b = await fullRequest({ request: { kind: 'pkcs10', bodyPartId: 5, der: makeCsr({ key, subject: [{ type: 'CN', value: 'pop.example' }], corrupt: true }) }, signWith: key });
      await failed(b, 400, 'popFailed');
    });
    it('a CRMF whose POP fails → popFailed', async () => {
      const key = newKey();
      const alg = signatureAlgorithmFor(key.privateKey);
      const msg = encodeCertReqMsg({
        certReqId: 3,
        subject: encodeName(toEncodedAttributes([{ type: 'CN', value: 'crmfbad.example' }])),
        spki: key.publicKey.export({ format: 'der', type: 'spki' }),
        signatureAlgorithm: alg.algorithmIdentifier,
        sign: (d) => sign(alg.hash, Buffer.concat([d, Buffer.from([0])]), key.privateKey),
      });
      await failed(await fullRequest({ request: { kind: 'crmf', bodyPartId: 3, der: msg }, signWith: key }), 400, 'popFailed');
    });
    it('a request the profile refuses → badRequest with the rule', async () => {
      const key = newKey();
      const b = await fullRequest({ request: { kind: 'pkcs10', bodyPartId: 5, der: makeCsr({ key, subject: [{ type: 'CN', value: 'x.example' }], sans: [{ type: 'email', value: 'a@example.com' }] }) }, signWith: key });
      const s = await failed(b, 403, 'badRequest');
      expect(s.statusString).toMatch(/email|san/i);
    });
  });

  it('garbage and a wrong content type are 400 with a text reason', async () => {
    const before = await rowCounts(h.t.ctx.db);
    const g = await call(h, '/.well-known/est/cmc/fullcmc', { body: Buffer.from('garbage').toString('base64'), contentType: CMC, basic: ['dev', pw] });
    expect(g.status).toBe(400);
    expect(g.text).toMatch(/not a CMC Full PKI Request/);
    const t = await call(h, '/.well-known/est/cmc/fullcmc', { body: 'AAAA', contentType: 'application/pkcs10', basic: ['dev', pw] });
    expect(t.status).toBe(400);
    expect((await rowCounts(h.t.ctx.db)).certificates).toBe(before.certificates);
  });
});
