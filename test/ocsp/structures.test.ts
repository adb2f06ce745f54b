/**
 * src/pki/ocsp-request.ts and src/pki/ocsp-response.ts on their own: requests made by openssl are
 * parsed exactly, our encodings are read back by openssl, and malformed input is refused.
 */
import { randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OcspRequestError, encodeCertId, encodeOcspRequest, parseOcspRequest } from '../../src/pki/ocsp-request.ts';
import {
  encodeOcspResponse,
  encodeResponseData,
  encodeSingleResponse,
  ocspErrorResponse,
  parseOcspResponse,
  responderIdByKey,
} from '../../src/pki/ocsp-response.ts';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { subjectPublicKeyBits } from '../../src/ca/registry.ts';
import { fromPem } from '../../src/pki/pem.ts';
import { openssl } from './helpers.ts';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'certgate-ocsp-der-'));
  const r = await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-subj', '/CN=Test CA', '-days', '2']);
  expect(r.code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('OCSPRequest', () => {
  it('parses openssl requests: SHA-1 and SHA-256 CertIDs, several CertIDs, the nonce', async () => {
    const ca = parseCertificate(fromPem(readFileSync(join(dir, 'ca.pem'), 'utf8'), 'CERTIFICATE')[0]);
    const out = join(dir, 'r1.der');
    const r = await openssl(['ocsp', '-issuer', join(dir, 'ca.pem'), '-serial', '0x0102AB', '-serial', '0x80ff', '-reqout', out]);
    expect(r.code).toBe(0);
    const req = parseOcspRequest(readFileSync(out));
    expect(req.certIds.map((c) => [c.hash, c.serialHex])).toEqual([
      ['sha1', '0102ab'],
      ['sha1', '0080ff'],
    ]);
    const { createHash } = await import('node:crypto');
    expect(req.certIds[0].issuerNameHash).toEqual(createHash('sha1').update(ca.subject).digest());
    expect(req.certIds[0].issuerKeyHash).toEqual(createHash('sha1').update(subjectPublicKeyBits(ca.spki)).digest());
    expect(req.nonce).toHaveLength(16);
    expect(req.signed).toBe(false);

    const out2 = join(dir, 'r2.der');
    await openssl(['ocsp', '-issuer', join(dir, 'ca.pem'), '-sha256', '-serial', '0x05', '-no_nonce', '-reqout', out2]);
    const req2 = parseOcspRequest(readFileSync(out2));
    expect(req2.certIds[0].hash).toBe('sha256');
    expect(req2.certIds[0].issuerNameHash).toEqual(createHash('sha256').update(ca.subject).digest());
    expect(req2.nonce).toBeUndefined();
  });

  it('our encoding is what openssl reads', async () => {
    const nonce = randomBytes(20);
    const der = encodeOcspRequest([encodeCertId({ hash: 'sha256', issuerNameHash: randomBytes(32), issuerKeyHash: randomBytes(32), serial: '7f01' })], nonce);
    const f = join(dir, 'ours.der');
    writeFileSync(f, der);
    const r = await openssl(['ocsp', '-reqin', f, '-req_text']);
    expect(r.out).toContain('Hash Algorithm: sha256');
    expect(r.out).toContain('Serial Number: 7F01');
    expect(r.out).toContain('OCSP Nonce');
    expect(parseOcspRequest(der).nonce).toEqual(nonce);
  });

  it('refuses malformed requests with OcspRequestError', () => {
    const good = encodeOcspRequest([encodeCertId({ hash: 'sha1', issuerNameHash: randomBytes(20), issuerKeyHash: randomBytes(20), serial: '01' })]);
    const bad: Buffer[] = [
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.from([0])]),
      Buffer.from([0x31, ...good.subarray(1)]),
      encodeOcspRequest([encodeCertId({ hash: 'sha1', issuerNameHash: randomBytes(19), issuerKeyHash: randomBytes(20), serial: '01' })]),
      encodeOcspRequest([encodeCertId({ hash: 'sha1', issuerNameHash: randomBytes(20), issuerKeyHash: randomBytes(20), serial: '01' })], Buffer.alloc(33)),
      Buffer.from('30023000', 'hex'),
      Buffer.from([0x30, 0x80, 0x00, 0x00]),
      Buffer.alloc(0),
    ];
    for (const b of bad) expect(() => parseOcspRequest(b), b.toString('hex')).toThrow(OcspRequestError);
    const many = encodeOcspRequest(Array.from({ length: 5 }, () => encodeCertId({ hash: 'sha1', issuerNameHash: randomBytes(20), issuerKeyHash: randomBytes(20), serial: '01' })));
    expect(() => parseOcspRequest(many, 4)).toThrow(/more than 4/);
    expect(parseOcspRequest(many, 5).certIds).toHaveLength(5);
  });
});

describe('OCSPResponse', () => {
  it('encodes good / revoked / unknown responses that openssl parses and verifies', async () => {
    const caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
    const caDer = fromPem(caPem, 'CERTIFICATE')[0];
    const ca = parseCertificate(caDer);
    const { createPrivateKey, createHash } = await import('node:crypto');
    const key = createPrivateKey(readFileSync(join(dir, 'ca.key')));
    const cid = (serial: string) =>
      encodeCertId({ hash: 'sha1', issuerNameHash: createHash('sha1').update(ca.subject).digest(), issuerKeyHash: createHash('sha1').update(subjectPublicKeyBits(ca.spki)).digest(), serial });
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const next = new Date(now.getTime() + 3600_000);
    const tbs = encodeResponseData({
      responderId: responderIdByKey(subjectPublicKeyBits(ca.spki)),
      producedAt: now,
      singleResponses: [
        encodeSingleResponse({ certId: cid('01'), status: { kind: 'good' }, thisUpdate: now, nextUpdate: next }),
        encodeSingleResponse({ certId: cid('02'), status: { kind: 'revoked', time: now, reason: 1 }, thisUpdate: now, nextUpdate: next }),
        encodeSingleResponse({ certId: cid('03'), status: { kind: 'unknown' }, thisUpdate: now }),
      ],
    });
    const alg = Buffer.from('300a06082a8648ce3d040302', 'hex'); // ecdsa-with-SHA256
    const der = encodeOcspResponse({ tbsResponseData: tbs, signatureAlgorithm: alg, signature: sign('sha256', tbs, key) });
    const f = join(dir, 'resp.der');
    writeFileSync(f, der);
    const r = await openssl(['ocsp', '-respin', f, '-issuer', join(dir, 'ca.pem'), '-CAfile', join(dir, 'ca.pem'), '-serial', '0x01', '-serial', '0x02', '-serial', '0x03', '-no_nonce']);
    expect(r.out).toContain('Response verify OK');
    expect(r.out).toMatch(/0x01: good/);
    expect(r.out).toMatch(/0x02: revoked/);
    expect(r.out).toContain('Reason: keyCompromise');
    expect(r.out).toMatch(/0x03: unknown/);
    const p = parseOcspResponse(der);
    expect(p.basic!.responses.map((x) => x.status)).toEqual(['good', 'revoked', 'unknown']);
    expect(p.basic!.responses[2].nextUpdate).toBeUndefined();
  });

  it('error responses are a bare status', async () => {
    expect(ocspErrorResponse('malformedRequest')).toEqual(Buffer.from('30030a0101', 'hex'));
    expect(ocspErrorResponse('internalError')).toEqual(Buffer.from('30030a0102', 'hex'));
    expect(ocspErrorResponse('tryLater')).toEqual(Buffer.from('30030a0103', 'hex'));
    expect(ocspErrorResponse('unauthorized')).toEqual(Buffer.from('30030a0106', 'hex'));
    expect(parseOcspResponse(ocspErrorResponse('unauthorized')).status).toBe('unauthorized');
    const f = join(dir, 'err.der');
    writeFileSync(f, ocspErrorResponse('unauthorized'));
    const r = await openssl(['ocsp', '-respin', f, '-resp_text']);
    expect(r.out).toMatch(/unauthorized \(6\)/);
  });
});
