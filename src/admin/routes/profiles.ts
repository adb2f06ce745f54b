/** Certificate profiles: list, read, create, replace, delete (built-in ones are read-only). */
import type { Hono } from 'hono';
import type { AppEnv } from '../../http/app-env.ts';
import { BadRequest, NotFound } from '../../issuance/errors.ts';
import { readJson, type AdminKit, type C } from './kit.ts';

export function mountProfiles(api: Hono<AppEnv>, k: AdminKit): void {
  const { ctx, need, audit } = k;

  const profileBody = async (c: C): Promise<Record<string, unknown>> => {
    const raw = await readJson(c, false);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BadRequest('body: expected a JSON object (a profile)');
    const r = raw as Record<string, unknown>;
    if (typeof r.issuer === 'string' && !(await ctx.issuers.get(r.issuer))) throw new BadRequest(`issuer: no issuer "${r.issuer}"`, 'issuer');
    return r;
  };

  api.get('/profiles', need('auditor', 'list profiles'), async (c) => c.json(await ctx.profiles.list()));

  api.get('/profiles/:name', need('auditor', 'read profiles'), async (c) => {
    const name = c.req.param('name');
    const p = (await ctx.profiles.list()).find((x) => x.name === name);
    if (!p) throw new NotFound(`unknown profile "${name}"`);
    return c.json(p);
  });

  api.post('/profiles', need('administrator', 'create profiles'), async (c) => {
    const p = await ctx.profiles.create(await profileBody(c));
    await audit(c, 'profile.create', p.name);
    return c.json({ ...p, builtin: false }, 201);
  });

  api.put('/profiles/:name', need('administrator', 'change profiles'), async (c) => {
    const name = c.req.param('name');
    const body = await profileBody(c);
    if (body.name !== undefined && body.name !== name) throw new BadRequest(`name: "${String(body.name)}" does not match the profile in the URL ("${name}")`, 'name');
    const p = await ctx.profiles.update(name, body);
    await audit(c, 'profile.update', name);
    return c.json(p);
  });

  api.delete('/profiles/:name', need('administrator', 'delete profiles'), async (c) => {
    const name = c.req.param('name');
    await ctx.profiles.delete(name);
    await audit(c, 'profile.delete', name);
    return c.body(null, 204);
  });
}
