/**
 * Console sign-in: password login (a short-lived bearer token), who the token names, and an
 * administrator setting an operator's password. Token login needs no route: the console sends
 * a token from `certgate token create` as it is and asks /auth/whoami who it names.
 */
import { eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { z } from 'zod';
import { principals } from '../../db/schema.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { clientAddress } from '../../http/client-address.ts';
import { BadRequest, Conflict, NotFound } from '../../issuance/errors.ts';
import { LoginRefused, PasswordLogin } from '../login.ts';
import { hashPassword, MAX_PASSWORD_LENGTH, passwordProblem } from '../passwords.ts';
import { operatorOf, readBody, type AdminKit } from './kit.ts';

export const loginSchema = z.strictObject({
  username: z.string().min(1).max(200),
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
});

export const passwordSetSchema = z.strictObject({
  password: z.string().describe('At least 12 characters; stored as an scrypt hash, never returned'),
});

export function mountSession(api: Hono<AppEnv>, k: AdminKit): void {
  const { ctx, need, audit } = k;
  const logins = new PasswordLogin(ctx.db, ctx.tokens, ctx.audit, ctx.config.consoleSessionTtl);

  api.post('/auth/login', async (c) => {
    const b = await readBody(c, loginSchema);
    c.header('Cache-Control', 'no-store');
    try {
      return c.json(await logins.login(b.username, b.password, clientAddress(c, ctx.config.trustedProxies), c.get('requestId')));
    } catch (e) {
      if (e instanceof LoginRefused && e.retryAfterSeconds !== undefined) c.header('Retry-After', String(Math.max(1, e.retryAfterSeconds)));
      throw e;
    }
  });

  api.get('/auth/whoami', need('auditor', 'read its own identity'), (c) => {
    const op = operatorOf(c);
    return c.json({ id: op.id, name: op.name, role: op.role });
  });

  api.put('/operators/:name/password', need('administrator', 'set passwords'), async (c) => {
    const name = c.req.param('name');
    const b = await readBody(c, passwordSetSchema);
    const problem = passwordProblem(b.password);
    if (problem) throw new BadRequest(problem, 'password');
    const [row] = await ctx.db.select({ kind: principals.kind }).from(principals).where(eq(principals.name, name));
    if (!row) throw new NotFound(`no operator "${name}"`);
    // Passwords are for people: an API client or the local CLI credential signs in with tokens only.
    if (row.kind !== 'operator') throw new Conflict(`"${name}" is a ${row.kind} principal; only operators have passwords`);
    const hash = await hashPassword(b.password);
    await ctx.db.update(principals).set({ passwordHash: hash, loginFailures: 0, loginBlockedUntil: null }).where(eq(principals.name, name));
    await audit(c, 'operator.password', name);
    return c.json({ operator: name, passwordSet: true });
  });
}
