/**
 * emCA REST. Inputs that get past authentication, so they reach the parsers:
 *  - V4 envelopes encrypted with the client's real AES key and emKey, whose `signature` is a CMS
 *    SignedData signed in-process with the client's real signing key over a MUTATED content (CSR
 *    mutated as DER, createPKCS12 strings, serials, request ids, getPKCS12 pseudo-JSON, multi-CSR
 *    lists, CA and profile names, day counts mutated as text) — valid signature, hostile content;
 *  - the same envelopes around a mutated inner JSON (every field but the credentials), with a valid
 *    signature over a real CSR; a mutated CMS (DER) under a real envelope; mutated outer envelopes;
 *  - V5 JSON with a real token: certificate calls, and CA/OCSP management bodies with the token of
 *    an administrator-role client (createCA, import, CRL and OCSP settings, responders).
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptRequestData, type AesMode } from '../../protocols/emca/crypto.ts';
import { SoftwareSigner } from '../../src/ca/signer.ts';
import { buildSignedData } from '../../src/pki/cms-signed-data.ts';
import { fromPem } from '../../src/pki/pem.ts';
import { mutateDer } from '../mutate/der.ts';
import { mutateJson, oddValue } from '../mutate/json.ts';
import type { Rng } from '../rng.ts';
import { makeCsr, oddUrlString, openssl } from '../seeds.ts';
import type { FuzzInput, FuzzServer, FuzzTarget } from '../types.ts';

interface Secrets {
  id: string;
  userName: string;
  password: string;
  aesKey: string;
  aesMode: AesMode;
  emKey: string;
  pfx: string;
  pfxPassword: string;
}
interface Signing {
  signer: SoftwareSigner;
  cert: Buffer;
}
let client: Secrets;
let signing: Signing;
let signature: Buffer;
let csr: Buffer;
let caPem = '';
let caKeyPem = '';
let token = '';
let adminTokenV5 = '';
let n = 0;

/** Methods with the signed content each expects (its seed); `csr` = the CSR DER. */
const SIGNED: { method: string; content: () => Buffer | string; extra?: Record<string, unknown> }[] = [
  { method: 'createCertificate', content: () => csr },
  { method: 'createCertificateP7BById', content: () => csr, extra: { profileID: '1', validity: '30:0:0:0', validFrom: '01:01:2030 00:00:00' } },
  { method: 'createPKCS12', content: () => 'CN=Fuzz~O=Fuzz Ltd~dNSName=fuzz.example~KeyAlogirthmAndSize=EC-P256~Password=pin 1234 ' },
  { method: 'createPKCS12ById', content: () => 'CN=Fuzz,O=Fuzz,KeyAlgorithmAndSize=EC-P256,Password=a~b', extra: { profileID: '1' } },
  { method: 'getPKCS12', content: () => "{'pfxPin': 'pin','serialNumber':'0a1b2c','subscriberId':'fuzz'}" },
  { method: 'getCertificate', content: () => '0a1b2c3d4e5f' },
  { method: 'getCertificateByRequestID', content: () => 'ID1|00000000-0000-0000-0000-000000000000~ID2|x' },
  { method: 'revoke', content: () => '0a1b2c3d4e5f', extra: { revokeMode: 1, remarks: 'fuzz' } },
  { method: 'suspend', content: () => '0a1b2c3d4e5f', extra: { revokeMode: '', remarks: 'fuzz' } },
  { method: 'reinstate', content: () => '0a1b2c3d4e5f', extra: { remarks: 'fuzz' } },
  { method: 'rekey', content: () => csr, extra: { serialNum: '0a1b2c3d4e5f', remarks: 'fuzz', isSignedData: 'true' } },
  { method: 'verifySignature', content: () => 'any data' },
  { method: 'createCustomCertificateById', content: () => csr, extra: { profileID: '1', subjectDNOids: '2.5.4.3|fuzz~2.5.4.10|Fuzz', sANValues: 'dNSName=fuzz.example|iPAddress=10.0.0.1', isP7BRequest: 'false' } },
  { method: 'createCertificatesByIdWithMultipleCsrData', content: () => `ID1|${csr.toString('base64')}~ID2|${csr.toString('base64')}`, extra: { profileID: '1' } },
  { method: 'getExpirySoonCertificate', content: () => '30', extra: { noOfDaysToExpirySoon: '30' } },
  { method: 'getProfileinfoByProfilename', content: () => 'tls-client' },
  { method: 'getCertificateProfileList', content: () => 'CN=Certgate Dev Issuing CA' },
];

/** One text mutation: the grammar's separators, odd characters, truncation, growth, another value. */
function mutateText(rng: Rng, s: string): { text: string; kind: string } {
  const at = rng.int(s.length + 1);
  switch (rng.int(9)) {
    case 0:
      return { text: s.slice(0, at) + rng.pick(['~', ',', '|', '=', '~~', '||', '=~', ' ', '\n', '\t']) + s.slice(at), kind: 'separator' };
    case 1:
      return { text: s.slice(0, at) + rng.pick(['\u0000', '\ud800', '\u202e', '😀', '\u00e9', "'", '"', '{', '}', '\\']) + s.slice(at), kind: 'char' };
    case 2:
      return { text: s.slice(0, at), kind: 'truncate' };
    case 3:
      return { text: s.repeat(1 + rng.int(200)), kind: 'repeat' };
    case 4:
      return { text: JSON.parse(oddValue(rng).replace(/^\[.*|^\{.*/s, '"x"')) + '', kind: 'odd' };
    case 5:
      return { text: s.replace(/[0-9a-f]/gi, () => rng.pick(['0', 'f', 'g', '-', ''])), kind: 'digits' };
    case 6:
      return { text: `${s}~${rng.pick(['CN=', 'Password=', 'KeyAlogirthmAndSize=RSA-1024', '2.5.4.3=', 'registeredID=1.2', 'x'])}`, kind: 'item' };
    case 7:
      return { text: 'x'.repeat(rng.int(100_000)), kind: 'long' };
    default:
      return { text: '', kind: 'empty' };
  }
}

async function sign(content: Buffer): Promise<string> {
  return (await buildSignedData({ content, signer: signing.signer, signerCert: signing.cert })).toString('base64');
}

function envelope(inner: string, method: string, kind: string): FuzzInput {
  const requestData = encryptRequestData(Buffer.from(client.aesKey, 'base64'), client.aesMode, inner);
  return {
    method: 'POST',
    path: `/emCAServices/rest/${method}`,
    headers: { 'content-type': 'application/json', emKey: client.emKey },
    body: JSON.stringify({ requestData, userName: client.userName }),
    kind,
  };
}

async function register(server: FuzzServer, name: string, role?: string): Promise<Secrets> {
  const auth = { Authorization: `Bearer ${server.adminToken}`, 'Content-Type': 'application/json' };
  const r = await server.fetch('/api/v1/emca/clients', { method: 'POST', headers: auth, body: JSON.stringify({ name, ips: ['127.0.0.0/8'], role }) });
  if (r.status !== 201) throw new Error(`emca seed client: ${r.status} ${await r.text()}`);
  return (await r.json()) as Secrets;
}

async function v5Token(server: FuzzServer, s: Secrets): Promise<string> {
  const t = await server.fetch('/emca/v5/auth/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: s.userName, password: s.password, validityInMins: 600 }) });
  if (t.status !== 200) throw new Error(`emca seed token: ${t.status} ${await t.text()}`);
  return ((await t.json()) as { token: string }).token;
}

/** V4: a valid envelope and a valid signature over a mutated content, or around mutated inner fields. */
async function v4(rng: Rng): Promise<FuzzInput> {
  const m = rng.pick(SIGNED);
  const seed = m.content();
  const base = { userName: client.userName, password: client.password, profileName: 'tls-client', subscriberId: 'fuzz', applicationId: `fuzz-${n++}`, ...m.extra };
  const mode = rng.int(10);
  if (mode <= 4) {
    const mutated = Buffer.isBuffer(seed) ? { ...mutateDer(rng, seed), text: '' } : { ...mutateText(rng, seed), bytes: undefined };
    const content = mutated.bytes ?? Buffer.from(mutated.text, 'utf8');
    return envelope(JSON.stringify({ ...base, signature: await sign(content) }), m.method, `v4.content.${m.method}.${mutated.kind}`);
  }
  const sig = Buffer.isBuffer(seed) ? signature : Buffer.from(await sign(Buffer.from(seed, 'utf8')), 'base64');
  if (mode <= 8) {
    // Inner fields mutated; the credentials stay right so the method's own checks run.
    const j = mutateJson(rng, { ...base, signature: sig.toString('base64') });
    let text = j.text;
    try {
      const o = JSON.parse(text) as Record<string, unknown>;
      if (o && typeof o === 'object' && !Array.isArray(o)) text = JSON.stringify({ ...o, userName: client.userName, password: client.password });
    } catch {
      /* not JSON: sent as it is (Invalid input data) */
    }
    return envelope(text, m.method, `v4.inner.${j.kind}`);
  }
  const d = mutateDer(rng, sig);
  return envelope(JSON.stringify({ ...base, signature: d.bytes.toString('base64') }), m.method, `v4.cms.${d.kind}`);
}

/** V5 CA and OCSP management bodies with an administrator-role token. */
function v5Manage(rng: Rng): FuzzInput {
  const auth = { 'content-type': 'application/json', 'X-Emca-Api-Key': adminTokenV5 };
  const pick = rng.int(7);
  // Few distinct ids: after the first creation they conflict, so the registry does not grow without bound.
  const id = `fuzz-ca-${rng.int(3)}`;
  const bodies: [string, string, Record<string, unknown>][] = [
    ['POST', '/emca/v5/cas', { id, name: `Fuzz CA ${id}`, subject: `CN=Fuzz ${id},O=Fuzz`, keyType: 'ec-p256', validityDays: 30, pathLength: 1 }],
    ['POST', '/emca/v5/cas', { id: `${id}-sub`, name: `Fuzz Sub ${id}`, parentId: id, keyType: 'ec-p256', validityDays: 10 }],
    ['POST', '/emca/v5/cas/import', { id: `${id}-imp`, certificatePem: caPem, privateKeyPem: caKeyPem }],
    ['PUT', '/emca/v5/cas/dev-issuing/crl-settings', { crlValidityHours: 24, deltaCrlHours: 0, crlPartitions: 0 }],
    ['PUT', '/emca/v5/ocsp/cas/dev-issuing/settings', { validitySeconds: 3600, maxAgeSeconds: 600, nonce: 'sign', signing: 'delegated' }],
    ['POST', '/emca/v5/ocsp/responders', { caId: 'dev-issuing', validityDays: 7 }],
    ['POST', `/emca/v5/ocsp/responders/${oddUrlString(rng)}/${rng.pick(['map', 'rotate', 'revoke'])}`, { reason: 'superseded', replace: false }],
  ];
  const [method, path, seed] = bodies[pick];
  const j = mutateJson(rng, seed);
  return { method, path, headers: auth, body: j.text, kind: `v5.manage.${j.kind}` };
}

const target: FuzzTarget = {
  name: 'emca',
  async setup(server) {
    client = await register(server, `fuzz${Date.now() % 1e6}`);
    const admin = await register(server, `fuzzadm${Date.now() % 1e6}`, 'administrator');
    const dir = server.tempDir();
    const pfx = join(dir, 'c.p12');
    writeFileSync(pfx, Buffer.from(client.pfx, 'base64'));
    openssl(['pkcs12', '-in', pfx, '-passin', `pass:${client.pfxPassword}`, '-nokeys', '-clcerts', '-out', join(dir, 'c.crt')]);
    openssl(['pkcs12', '-in', pfx, '-passin', `pass:${client.pfxPassword}`, '-nocerts', '-nodes', '-out', join(dir, 'c.key')]);
    signing = { signer: new SoftwareSigner(createPrivateKey(readFileSync(join(dir, 'c.key')))), cert: fromPem(readFileSync(join(dir, 'c.crt'), 'utf8'), 'CERTIFICATE')[0] };
    csr = makeCsr(dir, '/CN=emca fuzz/O=Fuzz').der;
    writeFileSync(join(dir, 'csr.der'), csr);
    // The seed signature is openssl's own (BER/DER as openssl writes it); mutated contents are signed in-process.
    signature = openssl(['cms', '-sign', '-binary', '-nodetach', '-outform', 'DER', '-md', 'sha256', '-signer', join(dir, 'c.crt'), '-inkey', join(dir, 'c.key'), '-in', join(dir, 'csr.der')]);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-subj', '/CN=Fuzz Import CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE']);
    caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
    caKeyPem = readFileSync(join(dir, 'ca.key'), 'utf8');
    token = await v5Token(server, client);
    adminTokenV5 = await v5Token(server, admin);
  },
  async next(rng: Rng): Promise<FuzzInput> {
    const json = { 'content-type': 'application/json' };
    const op = rng.int(12);
    if (op <= 5) return v4(rng);
    if (op === 6) {
      const m = mutateJson(rng, { requestData: encryptRequestData(Buffer.from(client.aesKey, 'base64'), client.aesMode, '{}'), userName: client.userName });
      return { method: 'POST', path: `/emCAServices/rest/${rng.pick(SIGNED).method}`, headers: { ...json, emKey: client.emKey }, body: m.text, kind: `v4.outer.${m.kind}` };
    }
    if (op === 7) {
      const m = mutateJson(rng, { username: client.userName, password: client.password, clientId: client.id, validityInMins: 5 });
      return { method: 'POST', path: '/emca/v5/auth/token', headers: json, body: m.text, kind: `v5.token.${m.kind}` };
    }
    if (op === 8) return v5Manage(rng);
    const auth = { ...json, Authorization: `Bearer ${token}` };
    if (op <= 10) {
      const seed = { profileName: 'tls-client', csr: csr.toString('base64'), applicationId: `fuzz5-${n++}`, subscriberId: 's', format: 'cer', validity: '30:0:0:0', keyAlgorithm: 'EC-P256', subject: 'CN=fuzz', password: 'pin-1234 ' };
      const path = rng.pick(['/emca/v5/certificates', '/emca/v5/keystores', '/emca/v5/verify']);
      if (rng.chance(0.4)) {
        const m = mutateDer(rng, csr);
        return { method: 'POST', path, headers: auth, body: JSON.stringify({ ...seed, csr: m.bytes.toString('base64'), signature: m.bytes.toString('base64') }), kind: `v5.der.${m.kind}` };
      }
      const m = mutateJson(rng, seed);
      return { method: 'POST', path, headers: auth, body: m.text, kind: `v5.body.${m.kind}` };
    }
    const id = oddUrlString(rng);
    const [method, path] = rng.pick([
      ['GET', `/emca/v5/certificates/${id}`],
      ['GET', `/emca/v5/certificates/${id}/chain`],
      ['POST', `/emca/v5/certificates/${id}/revoke`],
      ['POST', `/emca/v5/certificates/${id}/suspend`],
      ['GET', `/emca/v5/requests/${id}`],
      ['GET', `/emca/v5/profiles/${id}`],
      ['GET', `/emca/v5/cas/${id}`],
      ['GET', `/emca/v5/cas/${id}/crl`],
      ['GET', `/emca/v5/ocsp/cas/${id}`],
      ['GET', `/emca/v5/ocsp/responders/${id}`],
      ['GET', `/emca/v5/ocsp/responders?caId=${id}`],
    ]);
    const headers = path.includes('/cas/') || path.includes('/ocsp/') ? { ...json, 'X-Emca-Api-Key': adminTokenV5 } : auth;
    return { method, path, headers, body: method === 'POST' ? '{}' : undefined, kind: 'v5.id' };
  },
};
export default target;
