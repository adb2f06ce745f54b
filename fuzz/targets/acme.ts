/**
 * ACME (RFC 8555): JWS requests signed for real (fresh nonces) with mutated payloads and protected
 * headers — CSRs mutated as DER inside finalize, certificates inside revokeCert — plus broken JWS
 * bodies and odd resource ids.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mutateDer } from '../mutate/der.ts';
import { mutateJson, oddValue } from '../mutate/json.ts';
import type { Rng } from '../rng.ts';
import { issue, makeCsr, oddUrlString } from '../seeds.ts';
import type { FuzzInput, FuzzServer, FuzzTarget } from '../types.ts';

let server: FuzzServer;
let key: KeyObject;
let jwk: Record<string, unknown>;
let kid = '';
let orderUrl = '';
let finalizeUrl = '';
let csr: Buffer;
let cert: Buffer;
const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');

async function nonce(): Promise<string> {
  const r = await server.fetch('/acme/new-nonce', { method: 'HEAD' });
  const n = r.headers.get('replay-nonce');
  if (!n) throw new Error(`new-nonce: ${r.status}`);
  return n;
}

/** A flattened JWS over the exact header and payload texts given. */
function jws(headerText: string, payloadText: string, k = key): string {
  const p = b64u(headerText);
  const q = b64u(payloadText);
  const s = sign('sha256', Buffer.from(`${p}.${q}`), { key: k, dsaEncoding: 'ieee-p1363' });
  return JSON.stringify({ protected: p, payload: q, signature: b64u(s) });
}

async function post(path: string, payload: unknown, useJwk = false): Promise<Response> {
  const url = `${server.baseUrl}${path}`;
  const h = { alg: 'ES256', nonce: await nonce(), url, ...(useJwk ? { jwk } : { kid }) };
  return server.fetch(path, { method: 'POST', headers: { 'content-type': 'application/jose+json' }, body: jws(JSON.stringify(h), payload === '' ? '' : JSON.stringify(payload)) });
}

const pathOf = (u: string) => new URL(u).pathname;

const target: FuzzTarget = {
  name: 'acme',
  async setup(s) {
    server = s;
    ({ privateKey: key } = generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    const { d: _d, ...pub } = key.export({ format: 'jwk' }) as Record<string, unknown>;
    jwk = pub;
    const acct = await post('/acme/new-account', { termsOfServiceAgreed: true, contact: ['mailto:fuzz@example.com'] }, true);
    if (acct.status !== 201) throw new Error(`acme seed account: ${acct.status} ${await acct.text()}`);
    kid = acct.headers.get('location')!;
    const order = await post('/acme/new-order', { identifiers: [{ type: 'dns', value: 'acme-fuzz.example.com' }] });
    if (order.status !== 201) throw new Error(`acme seed order: ${order.status} ${await order.text()}`);
    orderUrl = pathOf(order.headers.get('location')!);
    finalizeUrl = pathOf(((await order.json()) as { finalize: string }).finalize);
    const dir = s.tempDir();
    csr = makeCsr(dir, '/CN=acme-fuzz.example.com', 'DNS:acme-fuzz.example.com').der;
    cert = (await issue(s, makeCsr(dir, '/CN=acme-fuzz-r.example.com', 'DNS:acme-fuzz-r.example.com').der, 'tls-server')).der;
  },
  async next(rng: Rng): Promise<FuzzInput> {
    const ct = { 'content-type': 'application/jose+json' };
    const op = rng.int(10);
    if (op <= 4) {
      // Signed for real, payload mutated.
      const [path, seed] = rng.pick<[string, Record<string, unknown>]>([
        ['/acme/new-account', { termsOfServiceAgreed: true, contact: ['mailto:f@example.com'], onlyReturnExisting: false }],
        ['/acme/new-order', { identifiers: [{ type: 'dns', value: 'a.example.com' }], notBefore: new Date().toISOString() }],
        [finalizeUrl, { csr: b64u(csr) }],
        ['/acme/revoke-cert', { certificate: b64u(cert), reason: 4 }],
        [kid ? pathOf(kid) : '/acme/acct/x', { contact: ['mailto:g@example.com'], status: 'valid' }],
        ['/acme/key-change', { account: kid, oldKey: jwk }],
      ]);
      let payload: string;
      let kind: string;
      if (rng.chance(0.4) && 'csr' in seed) {
        const m = mutateDer(rng, csr);
        payload = JSON.stringify({ csr: b64u(m.bytes) });
        kind = `finalize.${m.kind}`;
      } else if (rng.chance(0.4) && 'certificate' in seed) {
        const m = mutateDer(rng, cert);
        payload = JSON.stringify({ certificate: b64u(m.bytes), reason: rng.pick([0, 1, 4, 7, 99, -1]) });
        kind = `revoke.${m.kind}`;
      } else {
        const m = mutateJson(rng, seed);
        payload = m.text;
        kind = `payload.${m.kind}`;
      }
      const header = { alg: 'ES256', nonce: await nonce(), url: `${server.baseUrl}${path}`, ...(path === '/acme/new-account' ? { jwk } : { kid }) };
      return { method: 'POST', path, headers: ct, body: jws(JSON.stringify(header), payload), kind };
    }
    if (op <= 6) {
      // Signed for real, protected header mutated.
      const path = rng.pick(['/acme/new-account', '/acme/new-order', orderUrl, finalizeUrl, '/acme/revoke-cert']);
      const m = mutateJson(rng, { alg: 'ES256', nonce: await nonce(), url: `${server.baseUrl}${path}`, kid, jwk });
      return { method: 'POST', path, headers: ct, body: jws(m.text, '{}'), kind: `header.${m.kind}` };
    }
    if (op === 7) {
      // A broken JWS object.
      const good = JSON.parse(jws(JSON.stringify({ alg: 'ES256', nonce: 'x', url: 'x', kid }), '{}')) as Record<string, unknown>;
      const m = mutateJson(rng, good);
      return { method: 'POST', path: rng.pick(['/acme/new-account', '/acme/new-order', orderUrl, '/acme/key-change']), headers: ct, body: m.text, kind: `jws.${m.kind}` };
    }
    if (op === 8) {
      const p = rng.pick(['/acme/order/', '/acme/authz/', '/acme/chall/', '/acme/cert/', '/acme/acct/', '/acme/order/x/finalize?', '/acme/renewal-info/']);
      const id = oddUrlString(rng);
      const path = p.endsWith('?') ? p.slice(0, -1) : p + id;
      if (p === '/acme/renewal-info/') return { method: 'GET', path, kind: 'ari' };
      const header = { alg: 'ES256', nonce: await nonce(), url: `${server.baseUrl}${path}`, kid };
      return { method: 'POST', path, headers: ct, body: jws(JSON.stringify(header), ''), kind: 'post-as-get.id' };
    }
    return { method: 'POST', path: '/acme/new-order', headers: ct, body: `{"protected":${oddValue(rng)},"payload":${oddValue(rng)},"signature":${oddValue(rng)}}`, kind: 'jws.generated' };
  },
};
export default target;
