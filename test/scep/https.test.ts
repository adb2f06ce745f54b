/** SCEP is served on HTTPS too (the issue: "also served on HTTPS"): GetCACaps and a PKCSReq over TLS. */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType } from '../../protocols/scep/attributes.ts';
import { drivers } from '../support/context.ts';
import { device, pkiMessage, readCertRep, transactionIdFor } from './client.ts';
import { CHALLENGE, startScep, type ScepHarness } from './harness.ts';

function tls(url: string, ca: string, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: body ? 'POST' : 'GET', ca, servername: 'localhost' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(drivers)('SCEP over HTTPS on %s', (driver) => {
  let h: ScepHarness;
  let ca: string;
  beforeAll(async () => {
    h = await startScep(driver, {}, { https: true });
    ca = readFileSync(h.rootFile, 'utf8');
  }, 60_000);
  afterAll(async () => h?.close());

  it('GetCACaps and a PKCSReq', async () => {
    const base = `${h.server.httpsUrl!.replace('127.0.0.1', 'localhost')}/scep`;
    const caps = await tls(`${base}?operation=GetCACaps`, ca);
    expect(caps.status).toBe(200);
    expect(caps.body.toString()).toMatch(/^AES$/m);
    const r = device({ subject: 'CN=tls-device.example', challenge: CHALLENGE });
    const m = await pkiMessage({ messageType: MessageType.PKCSReq, transactionID: transactionIdFor(r.spki), content: r.csr, recipientCert: h.ra, cipher: 'aes-128-cbc', digest: 'sha256', signerCert: r.signerCert, signerKey: r.signerKey });
    const res = await tls(`${base}?operation=PKIOperation`, ca, m.der);
    expect(res.status).toBe(200);
    const rep = await readCertRep(res.body, r, h.ra);
    expect(rep.status).toBe(0);
    expect(rep.certs).toHaveLength(1);
  });
});
