import type { Context as HonoContext, MiddlewareHandler } from 'hono';
import type { AppEnv, Operator, Role } from './app-env.ts';

const rank: Record<Role, number> = { auditor: 0, officer: 1, administrator: 2 };

/** Whether `held` is at least `needed`. */
export function roleAtLeast(held: Role, needed: Role): boolean {
  return rank[held] >= rank[needed];
}

export type VerifyToken = (token: string) => Promise<Operator | undefined>;

/**
 * THE role check of every admin route (core admin API, ACME EAB, emCA clients, OCSP management):
 * a valid bearer token of an enabled operator (else 401 with a Bearer challenge), whose role is
 * at least `role` (else 403). Authentication runs once per request: a later guard on the same
 * request reuses the operator an earlier one set.
 */
export function roleGuard(verify: VerifyToken) {
  return (role: Role, what = 'do this'): MiddlewareHandler<AppEnv> =>
    async (c, next) => {
      let op = c.get('operator');
      if (!op) {
        const header = c.req.header('authorization');
        const m = header ? /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)\s*$/i.exec(header) : null;
        if (!m) return unauthorized(c, 'a bearer token is required (Authorization: Bearer <token>)');
        op = await verify(m[1]);
        if (!op) return unauthorized(c, 'the bearer token is invalid, expired or revoked', 'invalid_token');
        c.set('operator', op);
      }
      if (!roleAtLeast(op.role, role)) return c.json({ error: 'Forbidden', message: `role ${op.role} may not ${what}` }, 403);
      await next();
    };
}

export function unauthorized(c: HonoContext, message: string, error?: 'invalid_token') {
  c.header('WWW-Authenticate', error ? `Bearer realm="certgate", error="${error}"` : 'Bearer realm="certgate"');
  return c.json({ error: 'Unauthorized', message }, 401);
}
