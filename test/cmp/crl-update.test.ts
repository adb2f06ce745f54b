/**
 * CRL update retrieval (RFC 9483 §4.3.4): genm id-it-crlStatusList → genp id-it-crls, over real
 * HTTP on PGlite and PostgreSQL. OpenSSL 3.0's `cmp -infotype` cannot carry a CRLStatusListValue,
 * so the genm is built with src/pki; every CRL that comes back is read by `openssl crl`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/pki/certificate.ts';
import { decodeCrls, encodeCrlStatusList } from '../../src/pki/cmp-crl-status.ts';
import { decodeGenContent, encodeGenContent, itOids, type InfoTypeAndValue } from '../../src/pki/cmp-info-type-value.ts';
import { readTlv } from '../../src/pki/der.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';
import { drivers } from '../support/context.ts';
import { crlSerialsFromText, crlText, openssl, x509Text, writePem } from '../support/openssl.ts';
import { crmfBody, decodeAnswer, failInfoOf, header, issuedCert, makeCmpEnv, newKey, protect, type CmpEnv } from './client.ts';

describe.each(drivers)('CMP CRL update retrieval (%s)', (driver) => {
  let env: CmpEnv;
  let mac: { kind: 'pbm'; ref: string; secret: string };
  const issuing = () => env.t.ctx.issuers.peek('dev-issuing')!;

  beforeAll(async () => {
    env = await makeCmpEnv(driver);
    mac = { kind: 'pbm', ...(await env.secret()) };
  }, 60_000);
  afterAll(async () => env?.close());

  /** Sends a genm with these items; returns the genp's items. */
  const genm = async (items: InfoTypeAndValue[]) => {
    const r = await env.post(protect(header(), { type: 'genm', content: encodeGenContent(items) }, mac));
    expect(r.status).toBe(200);
    return decodeAnswer(r.der);
  };
  const crlsOf = async (list: Parameters<typeof encodeCrlStatusList>[0]) => {
    const m = await genm([{ type: itOids.crlStatusList, value: encodeCrlStatusList(list) }]);
    expect(m.body.type).toBe('genp');
    const items = decodeGenContent(m.body.content, readTlv(m.body.content));
    expect(items.map((i) => i.type)).toEqual([itOids.crls]);
    return items[0].value ? decodeCrls(items[0].value) : undefined;
  };
  const issuerName = () => Buffer.from(parseCertificate(issuing().certDer).subject);
  const thisUpdateOf = (crl: Buffer) => new Date(/Last Update: (.+)/.exec(crlText(crl))![1]);

  it('by issuer name: the current CRL, which openssl reads and verifies against the issuing CA', async () => {
    const crls = await crlsOf([{ issuerName: issuerName() }]);
    expect(crls).toHaveLength(1);
    const stored = await env.t.ctx.crls.latest('dev-issuing');
    expect(crls![0].equals(stored!.der)).toBe(true);
    const file = writePem(env.dir, 'genp-crl.pem', crls![0], 'X509 CRL');
    const v = openssl(['crl', '-in', file, '-noout', '-issuer', '-CAfile', env.issuingFile]);
    expect(v.status, v.output).toBe(0);
    expect(v.output).toContain('verify OK');
    expect(v.output).toMatch(/CN ?= ?[^\n]*Issuing/i);
  });

  it('not newer than the thisUpdate given: id-it-crls without a value; an issuer not ours: the same', async () => {
    const [crl] = (await crlsOf([{ issuerName: issuerName() }]))!;
    expect(await crlsOf([{ issuerName: issuerName(), thisUpdate: thisUpdateOf(crl) }])).toBeUndefined();
    expect(await crlsOf([{ issuerName: encodeName(toEncodedAttributes(parseDn('CN=Not Ours'))) }])).toBeUndefined();
    expect(await crlsOf([{ uri: 'http://elsewhere.example/crl/dev-issuing.crl' }])).toBeUndefined();
  });

  it('by the distribution point a certificate names: after a revocation, the newer CRL lists it', async () => {
    const m = decodeAnswer((await env.post(protect(header({ implicit: true }), crmfBody('ir', 'crl-update', newKey()), mac))).der);
    const cert = issuedCert(m);
    const dp = /URI:(\S+\.crl)/.exec(x509Text(cert))![1];
    const [before] = (await crlsOf([{ uri: dp }]))!;
    // thisUpdate has whole seconds: the next CRL must be at least a second younger to be "newer".
    await new Promise((r) => setTimeout(r, 1100));
    const serial = parseCertificate(cert).serialHex;
    await env.t.ctx.revocation.revoke({ issuerId: 'dev-issuing', serial }, 1, 'test');
    const after = await crlsOf([{ uri: dp, thisUpdate: thisUpdateOf(before) }]);
    expect(after).toHaveLength(1);
    expect(crlSerialsFromText(crlText(after![0]))).toContain(serial.toLowerCase());
    expect(crlSerialsFromText(crlText(before))).not.toContain(serial.toLowerCase());
  });

  it('a crlStatusList without a value, or a malformed one: badDataFormat', async () => {
    expect(failInfoOf(await genm([{ type: itOids.crlStatusList }]))).toEqual(['badDataFormat']);
    expect(failInfoOf(await genm([{ type: itOids.crlStatusList, value: Buffer.from([0x30, 0x03, 0xa2, 0x01, 0x00]) }]))).toEqual(['badDataFormat']);
    expect(failInfoOf(await genm([{ type: itOids.crlStatusList, value: Buffer.from([0x30, 0x00]) }]))).toEqual(['badDataFormat']);
  });
});
