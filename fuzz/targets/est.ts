/**
 * EST (RFC 7030) over HTTPS with valid Basic credentials, so inputs pass authentication and reach
 * the parsers: CSRs made by `openssl req` and a real fullcmc PKIData (src/pki CMC structures,
 * signed) mutated as DER and sent base64, plus bad base64, wrong content types and odd paths,
 * to simpleenroll, simplereenroll, serverkeygen, fullcmc, csrattrs and cacerts.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { encodeNonce, encodeTransactionId } from '../../src/pki/cmc-controls.ts';
import { cmcOids } from '../../src/pki/cmc-oids.ts';
import { encodePkiData } from '../../src/pki/cmc-pki-data.ts';
import { buildSignedData } from '../../src/pki/cms-signed-data.ts';
import { SoftwareSigner } from '../../src/ca/signer.ts';
import { rsaKey, selfSigned } from '../../test/scep/client.ts';
import { mutateDer, nestSequences } from '../mutate/der.ts';
import type { Rng } from '../rng.ts';
import { makeCsr, oddUrlString, openssl } from '../seeds.ts';
import type { FuzzInput, FuzzTarget } from '../types.ts';

const LABEL = 'fuzz';
let authorization = '';
const csrs: Buffer[] = [];
let cmc: Buffer;
/** A certificate enrolled over EST in setup, presented as the TLS client certificate (simplereenroll renews it). */
let client: { keyPem: string; certPem: string } | undefined;

const b64lines = (b: Buffer) => b.toString('base64').replace(/.{64}/g, '$&\r\n');

const target: FuzzTarget = {
  name: 'est',
  async setup(server) {
    const auth = { Authorization: `Bearer ${server.adminToken}`, 'Content-Type': 'application/json' };
    const l = await server.fetch('/api/v1/est/labels', { method: 'POST', headers: auth, body: JSON.stringify({ name: LABEL, profile: 'device', auth: 'both' }) });
    if (l.status !== 201) throw new Error(`est seed label: ${l.status} ${await l.text()}`);
    const u = await server.fetch('/api/v1/est/users', { method: 'POST', headers: auth, body: JSON.stringify({ label: LABEL, name: 'fuzzer' }) });
    if (u.status !== 201) throw new Error(`est seed user: ${u.status} ${await u.text()}`);
    const { password } = (await u.json()) as { password: string };
    authorization = `Basic ${Buffer.from(`fuzzer:${password}`).toString('base64')}`;
    const dir = server.tempDir();
    const ec = makeCsr(dir, '/CN=est-fuzz.example.com', 'DNS:est-fuzz.example.com');
    csrs.push(ec.der, makeCsr(dir, '/CN=est-fuzz-rsa.example.com', 'DNS:est-fuzz-rsa.example.com', 'rsa').der);
    client = await enrol(server.baseUrl, ec.der, readFileSync(ec.keyPem, 'utf8'), dir);
    // A Full PKI Request: PKIData(transactionId, senderNonce, the CSR) in SignedData by the CSR's key.
    const key = createPrivateKey(readFileSync(ec.keyPem));
    const content = encodePkiData({
      controls: [
        { bodyPartId: 1, type: cmcOids.transactionId, values: [encodeTransactionId(BigInt(`0x${randomBytes(6).toString('hex')}`))] },
        { bodyPartId: 2, type: cmcOids.senderNonce, values: [encodeNonce(randomBytes(16))] },
      ],
      requests: [{ kind: 'pkcs10', bodyPartId: 3, der: ec.der }],
      cms: [],
      other: [],
    });
    const rsa = rsaKey();
    cmc = await buildSignedData({ content, contentType: cmcOids.pkiData, signer: new SoftwareSigner(rsa), signerCert: selfSigned(rsa, 'CN=est-fuzz-cmc') });
  },
  next(rng: Rng): FuzzInput {
    const op = rng.pick(['simpleenroll', 'simplereenroll', 'serverkeygen', 'fullcmc', 'csrattrs', 'cacerts']);
    const prefix = rng.chance(0.8) ? `/.well-known/est/${LABEL}` : rng.pick(['/.well-known/est', `/.well-known/est/${oddUrlString(rng)}`]);
    const headers: Record<string, string> = { authorization };
    if (rng.chance(0.05)) headers.authorization = rng.pick(['Basic', 'Basic %%%', `Basic ${Buffer.from('fuzzer').toString('base64')}`, `Basic ${Buffer.from('fuzzer:\0').toString('base64')}`, 'Bearer x']);
    if (op === 'csrattrs' || op === 'cacerts') {
      const q = rng.chance(0.3) ? `?${oddUrlString(rng)}=${oddUrlString(rng)}` : '';
      return { method: rng.chance(0.8) ? 'GET' : 'POST', path: `${prefix}/${op}${q}`, headers, tls: {}, kind: `${op}.get` };
    }
    const seed = op === 'fullcmc' ? cmc : rng.pick(csrs);
    const type = op === 'fullcmc' ? 'application/pkcs7-mime; smime-type=CMC-request' : 'application/pkcs10';
    headers['content-type'] = rng.chance(0.9) ? type : rng.pick(['application/pkcs10', 'application/pkcs7-mime', 'text/plain', 'application/json', '', 'application/pkcs10; charset=\u00ff']);
    // simplereenroll needs the certificate being renewed on the TLS channel; others get it sometimes.
    const tls = client && (op === 'simplereenroll' ? rng.chance(0.9) : rng.chance(0.2)) ? client : {};
    let der: Buffer;
    let kind: string;
    if (rng.chance(0.85)) ({ bytes: der, kind } = mutateDer(rng, seed));
    else {
      der = rng.pick([seed, Buffer.alloc(0), rng.bytes(rng.int(400)), nestSequences(Buffer.alloc(0), 10_000)]);
      kind = 'generated';
    }
    const enc = rng.int(10);
    let body: string | Buffer;
    if (enc <= 5) body = b64lines(der);
    else if (enc === 6) body = der.toString('base64');
    else if (enc === 7) body = der;
    else if (enc === 8) body = der.toString('base64url');
    else body = rng.pick(['!!!not base64!!!', '====', 'QQ', `${der.toString('base64')}\0`, '-----BEGIN CERTIFICATE REQUEST-----\nMII=\n', ' '.repeat(2000)]);
    return { method: 'POST', path: `${prefix}/${op}`, headers, body, tls, kind: `${op}.${kind}.enc${enc}` };
  },
};
/** A real simpleenroll over HTTPS; the certificate read from the certs-only PKCS#7 by openssl. */
async function enrol(baseUrl: string, csr: Buffer, keyPem: string, dir: string): Promise<{ keyPem: string; certPem: string } | undefined> {
  const u = new URL(baseUrl);
  const input: FuzzInput = { method: 'POST', path: `/.well-known/est/${LABEL}/simpleenroll`, headers: { authorization, 'content-type': 'application/pkcs10' }, body: b64lines(csr), tls: {}, kind: 'setup' };
  const body = await new Promise<Buffer>((resolve, reject) => {
    const req = httpsRequest({ host: u.hostname, port: Number(u.port) + 1, method: input.method, path: input.path, headers: input.headers, rejectUnauthorized: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`est seed enrol: ${res.statusCode} ${Buffer.concat(parts).toString().slice(0, 200)}`))));
    });
    req.on('error', reject);
    req.end(input.body);
  });
  const p7 = join(dir, 'enrolled.p7');
  writeFileSync(p7, Buffer.from(body.toString('latin1').replace(/\s/g, ''), 'base64'));
  const certPem = openssl(['pkcs7', '-inform', 'DER', '-in', p7, '-print_certs']).toString().replace(/^(subject|issuer)=.*\n/gm, '');
  return { keyPem, certPem };
}
export default target;
