/**
 * Central key generation (RFC 9483 §4.1.6): an ir whose template has no public key (or an empty
 * one) gets a certificate and its private key, in EnvelopedData ⊃ SignedData ⊃
 * AsymmetricKeyPackage. OpenSSL 3.0's `openssl cmp` cannot ask for it (no -centralkeygen), so the
 * requests are built with src/pki and the answer is opened with the independent tool:
 * `openssl cms -decrypt` (password for a MAC, the RSA or EC key of a signing certificate), then
 * `openssl cms -verify` of the signature, and the key checked against the certificate.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificates } from '../../src/db/schema.ts';
import { decodeAsymmetricKeyPackage } from '../../src/pki/cms-asymmetric-key-package.ts';
import { cmsOids, encodeContentInfo } from '../../src/pki/cms-content-info.ts';
import { decodeCertRepMessage } from '../../src/pki/cmp-cert-rep.ts';
import { encodeCertReqMessages, type CertRequest } from '../../src/pki/crmf-cert-req-messages.ts';
import { bitString, nullValue, oid, readTlv, seq } from '../../src/pki/der.ts';
import { subjectAltName } from '../../src/pki/extensions.ts';
import { encodeName, parseDn, toEncodedAttributes } from '../../src/pki/name.ts';
import { fromPem } from '../../src/pki/pem.ts';
import type { PKIBody } from '../../src/pki/cmp-body.ts';
import { drivers } from '../support/context.ts';
import { openssl, opensslAsync, opensslOk } from '../support/openssl.ts';
import { crmfBody, decodeAnswer, failInfoOf, header, issuedCert, makeCmpEnv, newKey, protect, type CmpEnv, type Protection } from './client.ts';

/** An ir for `cn.example` with no key, or with `spki` (an algorithm and an empty BIT STRING). */
function centralIr(cn: string, spki?: Buffer): PKIBody {
  const certReq: CertRequest = {
    certReqId: 0n,
    certTemplate: {
      subject: encodeName(toEncodedAttributes(parseDn(`CN=${cn}.example`))),
      publicKey: spki,
      extensions: seq(subjectAltName([{ type: 'dns', value: `${cn}.example` }])),
    },
  };
  return { type: 'ir', content: encodeCertReqMessages([{ certReq }]) };
}

const emptyRsaSpki = () => seq(seq(oid('1.2.840.113549.1.1.1'), nullValue()), bitString(Buffer.alloc(0)));
const emptyP384Spki = () => seq(seq(oid('1.2.840.10045.2.1'), oid('1.3.132.0.34')), bitString(Buffer.alloc(0)));

describe.each(drivers)('CMP central key generation (%s)', (driver) => {
  let env: CmpEnv;
  let mac: Protection;
  const f = (n: string) => join(env.dir, n);

  beforeAll(async () => {
    env = await makeCmpEnv(driver, { aliases: { device: { profile: 'device', implicitConfirm: true }, manual: { profile: 'device-manual', implicitConfirm: true } } });
    const s = await env.secret();
    mac = { kind: 'pbm', ref: s.ref, secret: s.secret };
    const device = (await env.t.ctx.profiles.get('device'))!;
    await env.t.ctx.profiles.create({ ...device, name: 'device-manual', manualApproval: true });
  }, 60_000);
  afterAll(async () => env?.close());

  /** Sends, expects an ip with a certificate and a private key; returns both (DER) and the envelope file. */
  async function enrol(name: string, body: PKIBody, p: Protection, path = '/cmp') {
    const r = await env.post(protect(header({ implicit: true }), body, p), path);
    const m = decodeAnswer(r.der);
    const cert = issuedCert(m);
    const rep = decodeCertRepMessage(m.body.content, readTlv(m.body.content)).response[0];
    expect(rep.privateKeyEnveloped, 'privateKey in CertifiedKeyPair').toBeDefined();
    writeFileSync(f(`${name}.env.der`), encodeContentInfo(cmsOids.envelopedData, rep.privateKeyEnveloped!));
    writeFileSync(f(`${name}.crt.der`), cert);
    return cert;
  }

  /** The decrypted SignedData: verified by openssl against the root; returns the private key. */
  function openSigned(name: string): ReturnType<typeof createPrivateKey> {
    const sd = readFileSync(f(`${name}.sd.der`));
    writeFileSync(f(`${name}.sdci.der`), encodeContentInfo(cmsOids.signedData, sd));
    const v = openssl(['cms', '-verify', '-inform', 'DER', '-in', f(`${name}.sdci.der`), '-CAfile', env.rootFile, '-purpose', 'any', '-binary', '-out', f(`${name}.akp.der`)]);
    expect(v.status, v.output).toBe(0);
    // the signer is the CMP signer identity with id-kp-cmKGA (RFC 9483 §4.1.6)
    opensslOk(['pkcs7', '-inform', 'DER', '-in', f(`${name}.sdci.der`), '-print_certs', '-out', f(`${name}.signers.pem`)]);
    const signer = new X509Certificate(readFileSync(f(`${name}.signers.pem`)));
    expect(opensslOk(['x509', '-noout', '-ext', 'extendedKeyUsage'], { input: signer.toString() })).toContain('Certificate Management Key Generation Authority');
    const [pkcs8] = decodeAsymmetricKeyPackage(readFileSync(f(`${name}.akp.der`)));
    return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  }

  function keyMatches(certDer: Buffer, key: ReturnType<typeof createPrivateKey>): void {
    const certPub = new X509Certificate(certDer).publicKey.export({ format: 'der', type: 'spki' });
    expect(createPublicKey(key).export({ format: 'der', type: 'spki' }).equals(certPub)).toBe(true);
    opensslOk(['verify', '-CAfile', env.rootFile, '-untrusted', env.issuingFile], { input: new X509Certificate(certDer).toString() });
  }

  it('MAC-protected ir without a key: the key comes back under the shared secret (pwri)', async () => {
    const cert = await enrol('mac', centralIr('ckg-mac'), mac);
    const bad = openssl(['cms', '-decrypt', '-inform', 'DER', '-in', f('mac.env.der'), '-pwri_password', 'not-the-secret', '-binary', '-out', f('mac.bad')]);
    expect(bad.status).not.toBe(0);
    const r = openssl(['cms', '-decrypt', '-inform', 'DER', '-in', f('mac.env.der'), '-pwri_password', (mac as { secret: string }).secret, '-binary', '-out', f('mac.sd.der')]);
    expect(r.status, r.output).toBe(0);
    const key = openSigned('mac');
    expect(key.asymmetricKeyType).toBe('ec'); // the device profile's first key type
    keyMatches(cert, key);
  });

  it('the template names the algorithm with an empty key: RSA, P-384', async () => {
    const rsaCert = await enrol('mac-rsa', centralIr('ckg-rsa', emptyRsaSpki()), mac);
    opensslOk(['cms', '-decrypt', '-inform', 'DER', '-in', f('mac-rsa.env.der'), '-pwri_password', (mac as { secret: string }).secret, '-binary', '-out', f('mac-rsa.sd.der')]);
    const rsaKey = openSigned('mac-rsa');
    expect(rsaKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    keyMatches(rsaCert, rsaKey);
    const ecCert = await enrol('mac-p384', centralIr('ckg-p384', emptyP384Spki()), mac);
    opensslOk(['cms', '-decrypt', '-inform', 'DER', '-in', f('mac-p384.env.der'), '-pwri_password', (mac as { secret: string }).secret, '-binary', '-out', f('mac-p384.sd.der')]);
    const ecKey = openSigned('mac-p384');
    expect(ecKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    keyMatches(ecCert, ecKey);
  });

  for (const kind of ['rsa', 'ec'] as const) {
    it(`signature-protected by an ${kind.toUpperCase()} certificate: ${kind === 'rsa' ? 'key transport (ktri)' : 'ECDH key agreement (kari)'} to it`, async () => {
      const cn = `ckg-holder-${kind}`;
      const keyArgs = kind === 'rsa' ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
      opensslOk(['genpkey', ...keyArgs, '-out', f(`${cn}.key`)]);
      const s = await env.secret();
      const o = await opensslAsync(['cmp', '-server', env.url.replace('http://', ''), '-path', 'cmp', '-cmd', 'ir', '-ref', s.ref, '-secret', `pass:${s.secret}`, '-newkey', f(`${cn}.key`), '-subject', `/CN=${cn}.example`, '-sans', `${cn}.example`, '-implicit_confirm', '-certout', f(`${cn}.pem`)], { timeoutMs: 60_000 });
      expect(o.status, o.output).toBe(0);
      const holderDer = fromPem(readFileSync(f(`${cn}.pem`), 'utf8'))[0];
      const algDer = kind === 'rsa' ? seq(oid('1.2.840.113549.1.1.11'), nullValue()) : seq(oid('1.2.840.10045.4.3.2'));
      const p: Protection = { kind: 'signature', key: createPrivateKey(readFileSync(f(`${cn}.key`))), certDer: holderDer, algDer, hash: 'sha256' };
      const cert = await enrol(kind, centralIr(cn), p);
      const r = openssl(['cms', '-decrypt', '-inform', 'DER', '-in', f(`${kind}.env.der`), '-inkey', f(`${cn}.key`), '-recip', f(`${cn}.pem`), '-binary', '-out', f(`${kind}.sd.der`)]);
      expect(r.status, r.output).toBe(0);
      keyMatches(cert, openSigned(kind));
    });
  }

  it('refused, nothing issued: a POP without a key, manual approval, an unknown algorithm', async () => {
    const before = (await env.t.ctx.db.select().from(certificates)).length;
    const withPop = crmfBody('ir', 'ckg-pop', newKey(), { noKey: true });
    expect(failInfoOf(decodeAnswer((await env.post(protect(header(), withPop, mac))).der))).toContain('badPOP');
    expect(failInfoOf(decodeAnswer((await env.post(protect(header(), centralIr('ckg-manual'), mac), '/cmp/manual')).der))).toContain('badCertTemplate');
    const dsa = seq(seq(oid('1.2.840.10040.4.1')), bitString(Buffer.alloc(0)));
    expect(failInfoOf(decodeAnswer((await env.post(protect(header(), centralIr('ckg-dsa', dsa), mac))).der))).toContain('badAlg');
    expect((await env.t.ctx.db.select().from(certificates)).length).toBe(before);
  });
});
