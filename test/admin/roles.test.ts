/**
 * Admin API authentication and least-privilege roles: every route, for every role, either
 * works or is refused with 403 and changes nothing; no, bad, expired or disabled-operator
 * tokens get 401 with a Bearer challenge.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/admin/tokens.ts';
import { auditEvents, certificates, crls, issuers, pendingRequests, principals, profiles } from '../../src/db/schema.ts';
import type { EnrollmentRequest } from '../../src/issuance/request.ts';
import type { AppEnv } from '../../src/http/app-env.ts';
import { toPem } from '../../src/pki/pem.ts';
import { buildApp } from '../../src/server.ts';
import { drivers, makeTestContext, type TestContext } from '../support/context.ts';
import { call, cleanupWork, opensslCa, opensslCsr, roleTokens } from './helpers.ts';

const rank: Record<Role, number> = { auditor: 0, officer: 1, administrator: 2 };
const allRoles: Role[] = ['auditor', 'officer', 'administrator'];

interface Case {
  /** Least role allowed. */
  min: Role;
  /** Builds a fresh target (so each role's attempt acts on its own object) and the request. */
  make: () => Promise<{ method: string; path: string; body?: unknown }>;
  /** Status an allowed role gets. */
  ok: number;
}

afterAll(() => cleanupWork());

describe.each(drivers)('admin API roles and authentication (%s)', (driver) => {
  let t: TestContext;
  let app: Hono<AppEnv>;
  let tokens: Record<Role, string>;
  let csrPem: string;
  let caMaterial: { certificatePem: string; privateKeyPem: string };
  let seq = 0;
  const unique = (p: string) => `${p}-${driver}-${++seq}-${randomBytes(2).toString('hex')}`;

  const principal = { id: 'test:fixtures', protocol: 'internal', authenticatedBy: 'local' } as const;
  const issue = async (profile = 'tls-server') => {
    const req: EnrollmentRequest = { principal, profile, key: { kind: 'csr', der: Buffer.from(csrPem) } };
    return t.ctx.pipeline.issue(req);
  };
  const freshSerial = async () => {
    const r = await issue();
    if (r.status !== 'issued') throw new Error('fixture not issued');
    return r.certificate.serial;
  };
  const freshRequest = async () => {
    const r = await issue('manual-approval');
    if (r.status !== 'pending') throw new Error('fixture not pending');
    return r.requestId;
  };

  /** Everything a mutation could touch, so a refused call can be shown to have changed nothing. */
  const snapshot = async () => {
    const db = t.ctx.db;
    const [c, p, i, r, cr, op, a] = await Promise.all([
      db.select({ id: certificates.id, status: certificates.status, reason: certificates.revocationReason }).from(certificates).orderBy(certificates.id),
      db.select({ name: profiles.name, d: profiles.definition }).from(profiles).orderBy(profiles.name),
      db.select({ id: issuers.id, o: issuers.options, d: issuers.isDefault, n: issuers.crlNumber }).from(issuers).orderBy(issuers.id),
      db.select({ id: pendingRequests.id, s: pendingRequests.status }).from(pendingRequests).orderBy(pendingRequests.id),
      db.select({ id: crls.id }).from(crls).orderBy(crls.id),
      db.select({ n: principals.name, r: principals.role, d: principals.disabled, h: principals.passwordHash }).from(principals).orderBy(principals.name),
      db.select({ id: auditEvents.id }).from(auditEvents).orderBy(auditEvents.id),
    ]);
    return JSON.stringify({ c, p, i, r, cr, op, a });
  };
  /**
   * The snapshot once earlier calls' deferred work has landed (a revocation's CRL is published after
   * the call returns): two equal snapshots 100 ms apart. Under CI load such a write landed between
   * `before` and `after` of the next test.
   */
  const settled = async () => {
    let prev = await snapshot();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const next = await snapshot();
      if (next === prev) return next;
      prev = next;
    }
    return prev;
  };

  beforeAll(async () => {
    t = await makeTestContext(driver);
    app = await buildApp(t.ctx, []);
    tokens = await roleTokens(t.ctx);
    csrPem = opensslCsr('/CN=roles.example.com', ['DNS:roles.example.com']);
    caMaterial = opensslCa(`Imported Roles CA ${driver}`);
    const tls = await t.ctx.profiles.get('tls-server');
    await t.ctx.profiles.create({ ...tls, name: 'manual-approval', manualApproval: true });
  });
  afterAll(async () => t?.cleanup());

  const cases: Record<string, Case> = {
    'GET /issuers': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: '/issuers' }) },
    'GET /issuers/:id': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: '/issuers/dev-issuing' }) },
    'POST /issuers': {
      min: 'administrator',
      ok: 201,
      make: async () => {
        const id = unique('sub');
        return { method: 'POST', path: '/issuers', body: { id, name: id, parentId: 'dev-root', keyType: 'ec-p256', validityDays: 365 } };
      },
    },
    // Without an HSM configured both answer 200 with configured: false.
    'GET /hsm': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: '/hsm' }) },
    'POST /hsm/test': { min: 'administrator', ok: 200, make: async () => ({ method: 'POST', path: '/hsm/test' }) },
    'POST /issuers/import': {
      min: 'administrator',
      ok: 201,
      make: async () => {
        const id = unique('imp');
        return { method: 'POST', path: '/issuers/import', body: { id, name: id, ...caMaterial } };
      },
    },
    'PATCH /issuers/:id': {
      min: 'administrator',
      ok: 200,
      make: async () => ({ method: 'PATCH', path: '/issuers/dev-root', body: { crlValidityHours: 24 + ++seq } }),
    },
    'GET /profiles': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: '/profiles' }) },
    'GET /profiles/:name': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: '/profiles/tls-server' }) },
    'POST /profiles': {
      min: 'administrator',
      ok: 201,
      make: async () => ({ method: 'POST', path: '/profiles', body: { name: unique('p'), description: 'made by a test' } }),
    },
    'PUT /profiles/:name': {
      min: 'administrator',
      ok: 200,
      make: async () => {
        const p = await t.ctx.profiles.create({ name: unique('p') });
        return { method: 'PUT', path: `/profiles/${p.name}`, body: { description: 'changed' } };
      },
    },
    'DELETE /profiles/:name': {
      min: 'administrator',
      ok: 204,
      make: async () => {
        const p = await t.ctx.profiles.create({ name: unique('p') });
        return { method: 'DELETE', path: `/profiles/${p.name}` };
      },
    },
    'GET /certificates': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: '/certificates?status=valid&limit=5' }) },
    'GET /certificates/:id': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: `/certificates/${await freshSerial()}` }) },
    'GET /certificates/:id/pem': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: `/certificates/${await freshSerial()}/pem` }) },
    'POST /certificates': {
      min: 'officer',
      ok: 201,
      make: async () => ({ method: 'POST', path: '/certificates', body: { csr: csrPem, profile: 'tls-server' } }),
    },
    'POST /certificates/import': {
      min: 'administrator',
      ok: 201,
      // A certificate this server's issuer signed, taken out of the inventory again to be imported.
      make: async () => {
        const r = await issue();
        if (r.status !== 'issued') throw new Error('fixture not issued');
        await t.ctx.db.delete(certificates).where(eq(certificates.id, r.certificate.id));
        return { method: 'POST', path: '/certificates/import', body: { pem: toPem(r.certificate.der, 'CERTIFICATE') } };
      },
    },
    'POST /certificates/:serial/revoke': {
      min: 'officer',
      ok: 200,
      make: async () => ({ method: 'POST', path: `/certificates/${await freshSerial()}/revoke`, body: { reason: 'keyCompromise' } }),
    },
    'POST /certificates/:serial/suspend': {
      min: 'officer',
      ok: 200,
      make: async () => ({ method: 'POST', path: `/certificates/${await freshSerial()}/suspend` }),
    },
    'POST /certificates/:serial/reinstate': {
      min: 'officer',
      ok: 200,
      make: async () => {
        const serial = await freshSerial();
        await t.ctx.revocation.suspend({ serial }, 'test');
        return { method: 'POST', path: `/certificates/${serial}/reinstate` };
      },
    },
    'GET /requests': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: '/requests?status=pending' }) },
    'GET /requests/:id': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: `/requests/${await freshRequest()}` }) },
    'POST /requests/:id/approve': {
      min: 'officer',
      ok: 200,
      make: async () => ({ method: 'POST', path: `/requests/${await freshRequest()}/approve` }),
    },
    'POST /requests/:id/reject': {
      min: 'officer',
      ok: 200,
      make: async () => ({ method: 'POST', path: `/requests/${await freshRequest()}/reject`, body: { reason: 'no' } }),
    },
    'GET /crl/:issuerId': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: '/crl/dev-issuing' }) },
    'POST /crl/:issuerId/generate': { min: 'officer', ok: 200, make: async () => ({ method: 'POST', path: '/crl/dev-issuing/generate' }) },
    'GET /audit': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: '/audit?limit=5' }) },
    'GET /operators': { min: 'administrator', ok: 200, make: async () => ({ method: 'GET', path: '/operators' }) },
    'POST /operators': {
      min: 'administrator',
      ok: 201,
      make: async () => ({ method: 'POST', path: '/operators', body: { name: unique('op'), role: 'auditor' } }),
    },
    'POST /operators/:name/disable': {
      min: 'administrator',
      ok: 200,
      make: async () => {
        const op = await t.ctx.tokens.ensureOperator(unique('op'), 'officer');
        return { method: 'POST', path: `/operators/${op.name}/disable` };
      },
    },
    'POST /tokens': { min: 'administrator', ok: 201, make: async () => ({ method: 'POST', path: '/tokens', body: { role: 'auditor' } }) },
    'GET /auth/whoami': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: '/auth/whoami' }) },
    'PUT /operators/:name/password': {
      min: 'administrator',
      ok: 200,
      make: async () => {
        const op = await t.ctx.tokens.ensureOperator(unique('pw'), 'auditor');
        return { method: 'PUT', path: `/operators/${op.name}/password`, body: { password: 'correct horse battery' } };
      },
    },
    'GET /dashboard': { min: 'auditor', ok: 200, make: async () => ({ method: 'GET', path: '/dashboard?days=3' }) },
    'POST /backups': { min: 'administrator', ok: 200, make: async () => ({ method: 'POST', path: '/backups', body: { passphrase: 'roles test passphrase' } }) },
    'GET /backups': { min: 'administrator', ok: 200, make: async () => ({ method: 'GET', path: '/backups' }) },
  };

  it('the table covers every route the router registers', async () => {
    const { adminRoutes } = await import('../../src/admin/routes.ts');
    const registered = new Set(
      adminRoutes(t.ctx)
        // The two routes without a token: this document, and the console's password login.
        .routes.filter((r) => r.method !== 'ALL' && r.path !== '/openapi.json' && r.path !== '/auth/login')
        .map((r) => `${r.method} ${r.path}`),
    );
    expect([...registered].sort()).toEqual(Object.keys(cases).sort());
  });

  for (const role of allRoles) {
    describe(`role ${role}`, () => {
      const may = Object.entries(cases).filter(([, c]) => rank[role] >= rank[c.min]);
      const mayNot = Object.entries(cases).filter(([, c]) => rank[role] < rank[c.min]);

      it.each(may.map(([name, c]) => [name, c] as const))('may call %s', async (_name, c) => {
        const r = await c.make();
        const res = await call(app, tokens[role], r.method, r.path, r.body);
        expect(res.status, JSON.stringify(res.body)).toBe(c.ok);
      });

      if (mayNot.length) {
        it.each(mayNot.map(([name, c]) => [name, c] as const))('may not call %s: 403, nothing changed', async (_name, c) => {
          const r = await c.make();
          const before = await settled();
          const res = await call(app, tokens[role], r.method, r.path, r.body);
          expect(res.status).toBe(403);
          expect(res.body.error).toBe('Forbidden');
          expect(res.body.message).toMatch(new RegExp(`^role ${role} may not `));
          expect(await snapshot()).toBe(before);
        });
      }
    });
  }

  it('auditor may only read; officer may not administer', () => {
    const byMin = (m: Role) => Object.entries(cases).filter(([, c]) => c.min === m).map(([k]) => k);
    expect(byMin('auditor').every((k) => k.startsWith('GET '))).toBe(true);
    expect(byMin('officer').sort()).toEqual(
      [
        'POST /certificates',
        'POST /certificates/:serial/revoke',
        'POST /certificates/:serial/suspend',
        'POST /certificates/:serial/reinstate',
        'POST /requests/:id/approve',
        'POST /requests/:id/reject',
        'POST /crl/:issuerId/generate',
      ].sort(),
    );
  });

  describe('authentication', () => {
    const expect401 = async (authorization: string | undefined, method = 'GET', path = '/issuers', body?: unknown) => {
      const before = await settled();
      const res = await call(app, authorization, method, path, body);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('Unauthorized');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(await snapshot()).toBe(before);
      return res;
    };

    it('no token: 401 with a Bearer challenge, for reads and mutations', async () => {
      await expect401(undefined);
      await expect401(undefined, 'POST', '/profiles', { name: 'nope' });
      await expect401(undefined, 'POST', `/certificates/${await freshSerial()}/revoke`, {});
    });

    it('a malformed header or a non-Bearer scheme: 401', async () => {
      await expect401('Basic YWRtaW46YWRtaW4=');
      await expect401('Bearer');
      await expect401(`Token ${tokens.administrator}`);
    });

    it('a bad token: 401 invalid_token', async () => {
      const res = await expect401('Bearer not.a.jwt');
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
      // Tampered payload: the signature no longer matches.
      const [h, , s] = tokens.auditor.split('.');
      const forgedPayload = Buffer.from(JSON.stringify({ role: 'administrator', sub: 'x', iss: 'certgate', aud: 'certgate-admin' })).toString('base64url');
      await expect401(`Bearer ${h}.${forgedPayload}.${s}`, 'POST', '/tokens', { role: 'administrator' });
      // Signed with some other secret.
      const other = await new SignJWT({ role: 'administrator' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('x')
        .setIssuer('certgate')
        .setAudience('certgate-admin')
        .setExpirationTime('1h')
        .sign(randomBytes(32));
      await expect401(`Bearer ${other}`);
      // alg none
      const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`;
      await expect401(`Bearer ${none}`);
    });

    it('an expired token: 401', async () => {
      const op = await t.ctx.tokens.ensureOperator(unique('expired'), 'administrator');
      const expired = await t.ctx.tokens.issue(op, -120);
      await expect401(`Bearer ${expired}`, 'POST', '/operators', { name: unique('x'), role: 'auditor' });
    });

    it('a disabled operator\'s token: 401, at once', async () => {
      const op = await t.ctx.tokens.ensureOperator(unique('leaver'), 'officer');
      const token = await t.ctx.tokens.issue(op, 3600);
      expect((await call(app, token, 'GET', '/issuers')).status).toBe(200);
      const res = await call(app, tokens.administrator, 'POST', `/operators/${op.name}/disable`);
      expect(res.status).toBe(200);
      expect(res.body.disabled).toBe(true);
      await expect401(`Bearer ${token}`);
      await expect401(`Bearer ${token}`, 'POST', `/certificates/${await freshSerial()}/revoke`, {});
    });

    it('the OpenAPI document needs no token', async () => {
      const res = await call(app, undefined, 'GET', '/openapi.json');
      expect(res.status).toBe(200);
      expect(res.body.openapi).toMatch(/^3\.0/);
    });
  });
});
