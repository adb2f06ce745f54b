/**
 * The SPOC messages over SOAP 1.1 (TR-03129 shape) and Document Signer lists: RequestCertificate
 * and GetCACertificates answered in SOAP with certificates cvc-print verifies, the asynchronous
 * SendCertificates callback in SOAP, hostile XML refused with a Client fault (never 5xx), and a
 * CMS SignedData DS list (made by openssl cms) stored and handed out by GetDocumentSignerList.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCvCertificate } from '../../src/pki/cvc/index.ts';
import { drivers } from '../support/context.ts';
import { startEpassport, startReceiver, type EpassportHarness } from './harness.ts';
import { cvcPrint, trustDir } from './openpace.ts';
import { b64, flip, newKey, request, type TestKey } from './requests.ts';

const soap = (op: string, inner: string) =>
  `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns="uri:EAC-PKI-CVCA-Protocol/1.1" xmlns:ns1="uri:eacBT/1.1"><soapenv:Header/><soapenv:Body><ns:${op}>${inner}</ns:${op}></soapenv:Body></soapenv:Envelope>`;
const tag = (xml: string, name: string) => [...xml.matchAll(new RegExp(`<(?:\\w+:)?${name}>([^<]*)</(?:\\w+:)?${name}>`, 'g'))].map((m) => m[1]);

describe.each(drivers)('ePassport SOAP and DS lists on %s', (driver) => {
  let h: EpassportHarness;
  const dir = mkdtempSync(join(tmpdir(), 'certgate-epassport-soap-'));
  let cvca: Buffer;
  let dvKey: TestKey;
  const post = (body: string) => h.raw('/epassport/soap', { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, body });

  beforeAll(async () => {
    h = await startEpassport(driver);
    const r = await h.admin('POST', '/cvcas', { chr: 'SOCVCA00001', curve: 'brainpoolP512r1' });
    cvca = Buffer.from(r.body.certificate as string, 'base64');
    await h.admin('PUT', '/profiles/dv', { role: 'dv_domestic', terminalType: 'is', chat: '03', maxValidityDays: 30 });
    await h.admin('POST', '/holders', { holder: 'SODV', role: 'dv_domestic', authority: 'SOCVCA', profile: 'dv', initialAllowed: true });
    dvKey = newKey('brainpoolP512r1');
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('RequestCertificate in SOAP → ok_cert_available with a certificate cvc-print verifies', async () => {
    const certReq = b64(await request({ chr: 'SODV00001', key: dvKey }));
    const r = await post(soap('RequestCertificate', `<callbackIndicator>callback_not_possible</callbackIndicator><messageID><ns1:messageID>s-1</ns1:messageID></messageID><certReq>${certReq}</certReq>`));
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/xml');
    expect(r.text).toContain('<ns:RequestCertificateResponse>');
    expect(tag(r.text, 'returnCode')).toEqual(['ok_cert_available']);
    const der = Buffer.from(tag(r.text, 'certificate')[0], 'base64');
    trustDir(join(dir, 't'), [{ chr: 'SOCVCA00001', der: cvca }]);
    writeFileSync(join(dir, 'dv.cvcert'), der);
    expect(cvcPrint(['--cvc', join(dir, 'dv.cvcert'), '--cvc-dir', join(dir, 't')]).out).toContain('certificate verified');
  });

  it('GetCACertificates in SOAP; a tampered request → failure_outer_signature in the SOAP result', async () => {
    const r = await post(soap('GetCACertificates', '<callbackIndicator>callback_not_possible</callbackIndicator>'));
    expect(tag(r.text, 'returnCode')).toEqual(['ok_cert_available']);
    expect(tag(r.text, 'certificate').map((c) => decodeCvCertificate(Buffer.from(c, 'base64')).body.chr)).toContain('SOCVCA00001');
    const bad = b64(flip(await request({ chr: 'SODV00002', key: newKey('brainpoolP512r1'), outer: { car: 'SODV00001', key: dvKey } })));
    const f = await post(soap('RequestCertificate', `<callbackIndicator>callback_not_possible</callbackIndicator><certReq>${bad}</certReq>`));
    expect(f.status).toBe(200);
    expect(tag(f.text, 'returnCode')).toEqual(['failure_outer_signature']);
  });

  it('asynchronous over SOAP: ok_syntax, then a SOAP SendCertificates with the messageID to responseURL', async () => {
    const rx = await startReceiver();
    try {
      const certReq = b64(await request({ chr: 'SODV00003', key: newKey('brainpoolP512r1'), outer: { car: 'SODV00001', key: dvKey } }));
      const r = await post(soap('RequestCertificate', `<callbackIndicator>callback_possible</callbackIndicator><messageID><ns1:messageID>s-async</ns1:messageID></messageID><responseURL><ns1:string>${rx.url}</ns1:string></responseURL><certReq>${certReq}</certReq>`));
      expect(tag(r.text, 'returnCode')).toEqual(['ok_syntax']);
      const cb = (await rx.next()) as { raw: string };
      expect(cb.raw).toContain('SendCertificates');
      expect(tag(cb.raw, 'messageID')).toEqual(['s-async']);
      expect(tag(cb.raw, 'statusInfo')).toEqual(['ok_cert_available']);
      expect(decodeCvCertificate(Buffer.from(tag(cb.raw, 'certificate')[0], 'base64')).body.chr).toBe('SODV00003');
    } finally {
      await rx.close();
    }
  });

  it.each([
    ['not XML', 'hello'],
    ['DOCTYPE with an entity (XXE)', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><x>&e;</x></soapenv:Body></soapenv:Envelope>'],
    ['unterminated', soap('RequestCertificate', '<certReq>').slice(0, -20)],
    ['deep nesting', `<Envelope><Body>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</Body></Envelope>`],
    ['invalid UTF-8', Buffer.from([0x3c, 0xff, 0xfe, 0x3e]).toString('latin1')],
    ['bare ampersand', soap('GetCACertificates', '<callbackIndicator>a & b</callbackIndicator>')],
  ])('hostile XML (%s) → HTTP 400 with a SOAP Client fault', async (_n, body) => {
    const r = await post(body);
    expect(r.status).toBe(400);
    expect(r.text).toContain('soapenv:Client');
    expect(r.text).not.toContain('passwd:');
  });

  it('a syntactically wrong message inside a good envelope → failure_syntax in the result; unknown operation 404', async () => {
    const r = await post(soap('RequestCertificate', '<callbackIndicator>callback_not_possible</callbackIndicator><certReq>fyE=</certReq>'));
    expect(r.status).toBe(200);
    expect(tag(r.text, 'returnCode')).toEqual(['failure_syntax']);
    expect((await post(soap('DeleteEverything', ''))).status).toBe(404);
  });

  it('Document Signer lists: none → failure_list_not_available; a CMS SignedData list is stored and distributed', async () => {
    const none = await h.msg('getDocumentSignerList', { callbackIndicator: 'callback_not_possible' });
    expect(none.body.returnCode).toBe('failure_list_not_available');
    // A DS certificate and a list signer made by openssl; the list is CMS SignedData carrying the DS certificate.
    const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'signer.key', '-out', 'signer.pem', '-days', '30', '-subj', '/C=SO/CN=DS List Signer']);
    o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ds.key', '-out', 'ds.pem', '-days', '30', '-subj', '/C=SO/CN=Document Signer 1']);
    writeFileSync(join(dir, 'content.bin'), Buffer.from('DS list'));
    o(['cms', '-sign', '-binary', '-nodetach', '-in', 'content.bin', '-signer', 'signer.pem', '-inkey', 'signer.key', '-certfile', 'ds.pem', '-outform', 'DER', '-out', 'list.der']);
    const list = readFileSync(join(dir, 'list.der'));
    const bad = await h.admin('POST', '/ds-lists', { list: b64(flip(list, 40)) });
    expect(bad.status).toBe(400);
    const ok = await h.admin('POST', '/ds-lists', { list: b64(list) });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body.certificates).toBe(2);
    expect(String(ok.body.signer)).toContain('DS List Signer');
    const got = await h.msg('getDocumentSignerList', { callbackIndicator: 'callback_not_possible' });
    expect(got.body.returnCode).toBe('ok_list_available');
    const back = Buffer.from(got.body.documentSignerList as string, 'base64');
    expect(back.equals(list)).toBe(true);
    writeFileSync(join(dir, 'back.der'), back);
    // openssl verifies the distributed list against the signer it was made with.
    expect(o(['cms', '-verify', '-inform', 'DER', '-in', 'back.der', '-CAfile', 'signer.pem', '-binary']).toString()).toBe('DS list');
  });
});
