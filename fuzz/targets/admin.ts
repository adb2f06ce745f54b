/** The admin REST API: issuance bodies (JSON and CSR DER mutations), search filters, path ids, revocation, profiles, console sign-in and dashboard. */
import { mutateDer } from '../mutate/der.ts';
import { mutateJson } from '../mutate/json.ts';
import type { Rng } from '../rng.ts';
import { issue, makeCsr, oddUrlString } from '../seeds.ts';
import type { FuzzInput, FuzzTarget } from '../types.ts';

let auth: Record<string, string> = {};
let csr: Buffer;
let serial = '';
let profile: Record<string, unknown> = {};
let n = 0;

const FILTERS = ['subject', 'san', 'profile', 'issuer', 'status', 'serial', 'protocol', 'expiresBefore', 'expiresAfter', 'limit', 'offset', 'cursor', 'q'];
const GETS = ['/api/v1/certificates/', '/api/v1/certificates/{}/pem', '/api/v1/requests/', '/api/v1/issuers/', '/api/v1/profiles/', '/api/v1/crl/', '/api/v1/emca/clients/', '/api/v1/ocsp/issuers/', '/api/v1/ocsp/responders/'];

const target: FuzzTarget = {
  name: 'admin',
  async setup(server) {
    auth = { Authorization: `Bearer ${server.adminToken}` };
    csr = makeCsr(server.tempDir(), '/CN=admin-fuzz.example.com', 'DNS:admin-fuzz.example.com').der;
    serial = (await issue(server, csr, 'tls-server')).serial;
    profile = (await (await server.fetch('/api/v1/profiles/tls-client', { headers: auth })).json()) as Record<string, unknown>;
  },
  next(rng: Rng): FuzzInput {
    const json = { 'content-type': 'application/json', ...auth };
    switch (rng.int(7)) {
      case 0: {
        // Issuance: the body mutated, or the CSR inside it.
        const body = { csr: csr.toString('base64'), profile: 'tls-server', idempotencyKey: `fuzz-${n++}`, sans: ['dns:admin-fuzz.example.com'], validity: { days: 30 } };
        if (rng.chance(0.5)) {
          const m = mutateDer(rng, csr);
          return { method: 'POST', path: '/api/v1/certificates', headers: json, body: JSON.stringify({ ...body, csr: m.bytes.toString('base64') }), kind: `issue.${m.kind}` };
        }
        const m = mutateJson(rng, body);
        return { method: 'POST', path: '/api/v1/certificates', headers: json, body: m.text, kind: `issue.${m.kind}` };
      }
      case 1: {
        const q = Array.from({ length: 1 + rng.int(3) }, () => `${rng.pick(FILTERS)}=${oddUrlString(rng)}`).join('&');
        return { method: 'GET', path: `${rng.pick(['/api/v1/certificates', '/api/v1/requests', '/api/v1/audit', '/api/v1/emca/clients'])}?${q}${rng.chance(0.3) ? `&actor=${oddUrlString(rng)}` : ''}`, headers: auth, kind: 'search' };
      }
      case 2: {
        const p = rng.pick(GETS);
        const id = rng.chance(0.2) ? serial : oddUrlString(rng);
        return { method: 'GET', path: p.includes('{}') ? p.replace('{}', id) : p + id, headers: auth, kind: 'get-by-id' };
      }
      case 3: {
        const m = mutateJson(rng, { reason: 'keyCompromise', issuerId: 'dev-issuing', invalidityDate: new Date().toISOString() });
        const action = rng.pick(['revoke', 'suspend', 'reinstate']);
        return { method: 'POST', path: `/api/v1/certificates/${rng.chance(0.5) ? serial : oddUrlString(rng)}/${action}`, headers: json, body: m.text, kind: `${action}.${m.kind}` };
      }
      case 4: {
        const m = mutateJson(rng, { ...profile, name: `fuzz-${n++ % 50}` });
        return { method: rng.pick(['POST', 'PUT']), path: rng.chance(0.5) ? '/api/v1/profiles' : `/api/v1/profiles/fuzz-${n % 50}`, headers: json, body: m.text, kind: `profile.${m.kind}` };
      }
      case 5: {
        // The console's routes: password login (no token), operator passwords, dashboard query.
        const which = rng.int(3);
        if (which === 0) {
          const m = mutateJson(rng, { username: 'local-cli', password: 'not the password at all' });
          return { method: 'POST', path: '/api/v1/auth/login', headers: { 'content-type': 'application/json' }, body: m.text, kind: `login.${m.kind}` };
        }
        if (which === 1) {
          const m = mutateJson(rng, { password: 'a long enough password' });
          return { method: 'PUT', path: `/api/v1/operators/${rng.chance(0.5) ? 'fuzz-nobody' : oddUrlString(rng)}/password`, headers: json, body: m.text, kind: `password.${m.kind}` };
        }
        return { method: 'GET', path: `/api/v1/dashboard?days=${oddUrlString(rng)}&expiringDays=${oddUrlString(rng)}`, headers: auth, kind: 'dashboard' };
      }
      default: {
        const m = mutateJson(rng, { name: `fuzz-op-${n++}`, role: 'auditor', ttlSeconds: 60, operator: 'local-cli', ips: ['127.0.0.1'], note: 'x' });
        const path = rng.pick(['/api/v1/tokens', '/api/v1/operators', '/api/v1/emca/clients', '/api/v1/acme/eab', '/api/v1/crl/dev-issuing/generate', '/api/v1/requests/x/approve', '/api/v1/ocsp/issuers/dev-issuing/settings']);
        return { method: path.endsWith('settings') ? 'PUT' : 'POST', path, headers: json, body: m.text, kind: `write.${m.kind}` };
      }
    }
  },
};
export default target;
