/**
 * emCA REST (V4 encrypted envelopes, V5 JSON): inner JSON mutated then encrypted with the client's
 * real AES key, CMS signatures (made by `openssl cms -sign`) mutated as DER, outer envelopes and V5
 * bodies mutated, odd serials and request ids.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encryptRequestData, type AesMode } from '../../protocols/emca/crypto.ts';
import { mutateDer } from '../mutate/der.ts';
import { mutateJson } from '../mutate/json.ts';
import type { Rng } from '../rng.ts';
import { makeCsr, oddUrlString, openssl } from '../seeds.ts';
import type { FuzzInput, FuzzTarget } from '../types.ts';

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
let client: Secrets;
let signature: Buffer;
let csr: Buffer;
let token = '';
let n = 0;

const METHODS = ['createCertificate', 'createCertificateP7B', 'createCertificateById', 'createPKCS12', 'getPKCS12', 'getCertificate', 'getCertificateByRequestId', 'revoke', 'suspend', 'reinstate', 'rekey', 'verifySignature', 'createCustomCertificateById', 'createCertificatesByIdWithMultipleCsrData', 'getCertificateProfileList'];

const target: FuzzTarget = {
  name: 'emca',
  async setup(server) {
    const auth = { Authorization: `Bearer ${server.adminToken}`, 'Content-Type': 'application/json' };
    const r = await server.fetch('/api/v1/emca/clients', { method: 'POST', headers: auth, body: JSON.stringify({ name: `fuzz${Date.now() % 1e6}`, ips: ['127.0.0.0/8'] }) });
    if (r.status !== 201) throw new Error(`emca seed client: ${r.status} ${await r.text()}`);
    client = (await r.json()) as Secrets;
    const dir = server.tempDir();
    const pfx = join(dir, 'c.p12');
    writeFileSync(pfx, Buffer.from(client.pfx, 'base64'));
    openssl(['pkcs12', '-in', pfx, '-passin', `pass:${client.pfxPassword}`, '-nokeys', '-clcerts', '-out', join(dir, 'c.crt')]);
    openssl(['pkcs12', '-in', pfx, '-passin', `pass:${client.pfxPassword}`, '-nocerts', '-nodes', '-out', join(dir, 'c.key')]);
    csr = makeCsr(dir, '/CN=emca fuzz/O=Fuzz').der;
    writeFileSync(join(dir, 'csr.der'), csr);
    signature = openssl(['cms', '-sign', '-binary', '-nodetach', '-outform', 'DER', '-md', 'sha256', '-signer', join(dir, 'c.crt'), '-inkey', join(dir, 'c.key'), '-in', join(dir, 'csr.der')]);
    const t = await server.fetch('/emca/v5/auth/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: client.userName, password: client.password, validityInMins: 600 }) });
    if (t.status !== 200) throw new Error(`emca seed token: ${t.status} ${await t.text()}`);
    token = ((await t.json()) as { token: string }).token;
  },
  next(rng: Rng): FuzzInput {
    const json = { 'content-type': 'application/json' };
    const op = rng.int(10);
    if (op <= 4) {
      // V4: a real envelope around a mutated inner request (or a mutated CMS signature).
      const method = rng.pick(METHODS);
      const inner: Record<string, unknown> = {
        userName: client.userName,
        password: client.password,
        signature: signature.toString('base64'),
        profileName: 'tls-client',
        profileId: '1',
        subscriberId: 'fuzz',
        applicationId: `fuzz-${n++}`,
        serialNo: '01',
        revokeMode: 'revoke',
        validity: '30',
      };
      let text: string;
      let kind: string;
      if (rng.chance(0.4)) {
        const m = mutateDer(rng, signature);
        text = JSON.stringify({ ...inner, signature: m.bytes.toString('base64') });
        kind = `v4.cms.${m.kind}`;
      } else {
        const m = mutateJson(rng, inner);
        text = m.text;
        kind = `v4.inner.${m.kind}`;
      }
      const requestData = encryptRequestData(Buffer.from(client.aesKey, 'base64'), client.aesMode, text);
      return { method: 'POST', path: `/emCAServices/rest/${method}`, headers: { ...json, emKey: client.emKey }, body: JSON.stringify({ requestData, userName: client.userName }), kind };
    }
    if (op === 5) {
      const m = mutateJson(rng, { requestData: encryptRequestData(Buffer.from(client.aesKey, 'base64'), client.aesMode, '{}'), userName: client.userName });
      return { method: 'POST', path: `/emCAServices/rest/${rng.pick(METHODS)}`, headers: { ...json, emKey: client.emKey }, body: m.text, kind: `v4.outer.${m.kind}` };
    }
    if (op === 6) {
      const m = mutateJson(rng, { username: client.userName, password: client.password, clientId: client.id, validityInMins: 5 });
      return { method: 'POST', path: '/emca/v5/auth/token', headers: json, body: m.text, kind: `v5.token.${m.kind}` };
    }
    const auth = { ...json, Authorization: `Bearer ${token}` };
    if (op <= 8) {
      const seed = { profileName: 'tls-client', csr: csr.toString('base64'), applicationId: `fuzz5-${n++}`, subscriberId: 's', format: 'cer', validity: 30, keyAlgorithm: 'EC-P256', password: 'pin-1234' };
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
      ['GET', `/emca/v5/cas?x=${id}`],
    ]);
    return { method, path, headers: auth, body: method === 'POST' ? '{}' : undefined, kind: 'v5.id' };
  },
};
export default target;
