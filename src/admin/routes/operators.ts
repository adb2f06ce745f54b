/** Operators (list, create, disable) and their bearer tokens. */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Hono } from 'hono';
import { principals } from '../../db/schema.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { Conflict, NotFound } from '../../issuance/errors.ts';
import { operatorOf, readBody, readJson, type AdminKit } from './kit.ts';
import { operatorCreateSchema, tokenCreateSchema } from '../openapi.ts';

export function mountOperators(api: Hono<AppEnv>, k: AdminKit): void {
  const { ctx, need, audit } = k;

  const operatorJson = (r: typeof principals.$inferSelect) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    role: r.role,
    disabled: r.disabled,
    createdAt: r.createdAt,
  });
  const principalByName = async (name: string) => (await ctx.db.select().from(principals).where(eq(principals.name, name)))[0];

  api.get('/operators', need('administrator', 'list operators'), async (c) => c.json((await ctx.tokens.list()).map(operatorJson)));

  api.post('/operators', need('administrator', 'create operators'), async (c) => {
    const b = await readBody(c, operatorCreateSchema);
    if (await principalByName(b.name)) throw new Conflict(`operator "${b.name}" already exists`);
    await ctx.tokens.ensureOperator(b.name, b.role, b.kind);
    await audit(c, 'operator.create', b.name, { role: b.role, kind: b.kind });
    return c.json(operatorJson((await principalByName(b.name))!), 201);
  });

  api.post('/operators/:name/disable', need('administrator', 'disable operators'), async (c) => {
    const name = c.req.param('name');
    await readJson(c, true);
    if (name === operatorOf(c).name) throw new Conflict('an operator cannot disable itself');
    if (!(await ctx.tokens.disable(name))) throw new NotFound(`no operator "${name}"`);
    await audit(c, 'operator.disable', name);
    return c.json(operatorJson((await principalByName(name))!));
  });

  api.post('/tokens', need('administrator', 'create tokens'), async (c) => {
    const b = await readBody(c, tokenCreateSchema);
    const name = b.name ?? `cli-${b.role}-${randomBytes(4).toString('hex')}`;
    const existing = await principalByName(name);
    if (existing?.disabled) throw new Conflict(`operator "${name}" is disabled`);
    if (existing && existing.role !== b.role) throw new Conflict(`operator "${name}" has role ${existing.role}, not ${b.role}`);
    const op = await ctx.tokens.ensureOperator(name, b.role);
    const ttl = b.ttlSeconds ?? ctx.config.adminTokenTtl;
    const token = await ctx.tokens.issue(op, ttl);
    const expiresAt = new Date((Math.floor(Date.now() / 1000) + ttl) * 1000);
    // The token itself never goes into the audit trail.
    await audit(c, 'token.create', name, { role: op.role, ttlSeconds: ttl, created: !existing });
    return c.json({ token, operator: name, role: op.role, expiresAt }, 201);
  });
}
