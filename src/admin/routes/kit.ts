/**
 * What every admin route group shares: the role guard, the audit helper, body and query
 * validation (zod, 400 naming each offending field) and small lookups.
 */
import { parseClientJson, readRawBody } from '../../http/body.ts';
import type { Context as HonoContext } from 'hono';
import type { z } from 'zod';
import type { Context } from '../../context.ts';
import type { AppEnv } from '../../http/app-env.ts';
import { roleGuard } from '../../http/require-role.ts';
import { BadRequest, Conflict, NotFound } from '../../issuance/errors.ts';
export { conflictOnDuplicate } from '../../issuance/errors.ts';
import type { Operator } from '../tokens.ts';

export type C = HonoContext<AppEnv>;

export interface AdminKit {
  ctx: Context;
  /** The role guard: a valid bearer token of an enabled operator with at least `role`. */
  need: ReturnType<typeof roleGuard>;
  /** The audit actor of the request's operator. */
  actor(c: C): string;
  audit(c: C, action: string, target: string, details?: Record<string, unknown>): Promise<unknown>;
  requireIssuer(id: string): Promise<NonNullable<Awaited<ReturnType<Context['issuers']['get']>>>>;
}

export function adminKit(ctx: Context): AdminKit {
  /**
   * Authentication and least privilege in one guard per route: a valid bearer token of an
   * enabled operator (else 401 with a Bearer challenge), whose role is at least `role` (else
   * 403). The same guard (src/http/require-role.ts) protects every protocol's admin router.
   */
  const need = roleGuard((token) => ctx.tokens.verify(token));
  const actor = (c: C) => `operator:${operatorOf(c).name}`;
  const audit = (c: C, action: string, target: string, details?: Record<string, unknown>) =>
    ctx.audit.record({ actor: actor(c), action, target, details, requestId: c.get('requestId') });
  const requireIssuer = async (id: string) => {
    const i = await ctx.issuers.get(id);
    if (!i) throw new NotFound(`no issuer "${id}"`);
    return i;
  };
  return { ctx, need, actor, audit, requireIssuer };
}

export const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function operatorOf(c: C): Operator {
  const op = c.get('operator');
  if (!op) throw new Error('admin route reached without an authenticated operator');
  return op;
}

export async function readJson(c: C, optional: boolean): Promise<unknown> {
  const text = new TextDecoder().decode(await readRawBody(c));
  if (!text.trim()) {
    if (optional) return {};
    throw new BadRequest('body: a JSON request body is required');
  }
  return parseClientJson(text);
}

export async function readBody<S extends z.ZodType>(c: C, schema: S, optional = false): Promise<z.output<S>> {
  return check(schema, await readJson(c, optional), 'body');
}

/** Validates with zod; the 400 message names each offending field. */
export function check<S extends z.ZodType>(schema: S, raw: unknown, where: 'body' | 'query'): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const parts = r.error.issues.map((i) => {
    const path = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys') return `${path ? path + ': ' : ''}unknown field ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    if (i.code === 'invalid_union' && path) return `${path}: invalid value`;
    return `${path || where}: ${i.message}`;
  });
  const first = r.error.issues[0];
  const rule = first?.code === 'unrecognized_keys' ? first.keys[0] : first?.path.map(String).join('.');
  throw new BadRequest(parts.join('; '), rule || undefined);
}

