import type { Context as HonoContext } from 'hono';
import { adminErrorFor, isIssuanceError } from '../issuance/errors.ts';
import { DATABASE_RETRY_AFTER, isDatabaseUnavailable } from '../db/unavailable.ts';
import type { AppEnv } from './app-env.ts';

/**
 * The JSON error body of Certgate's own APIs (admin, health). Protocol routers map errors to
 * their own native shapes and never reach this.
 */
export function jsonError(c: HonoContext<AppEnv>, e: unknown, log?: (e: unknown) => void) {
  if (isIssuanceError(e)) {
    const { status, error } = adminErrorFor[e.code];
    return c.json({ error, reason: e.code, message: e.message, rule: e.rule }, status);
  }
  if (isDatabaseUnavailable(e)) {
    c.header('Retry-After', String(DATABASE_RETRY_AFTER));
    return c.json({ error: 'Unavailable', message: 'the database is unavailable; retry later', requestId: c.get('requestId') }, 503);
  }
  log?.(e);
  return c.json({ error: 'InternalError', message: 'internal error', requestId: c.get('requestId') }, 500);
}

/**
 * What of an unexpected error may go to the log: name, message, the frames of its stack and the
 * cause's message and code — never query parameters (a failed INSERT's params can hold sealed keys,
 * certificates, PFX bytes or client data) nor any other property an error carries (drizzle's
 * `params`, postgres.js's `parameters`/`args`, PGlite's `query`). Configured once as the logger's
 * `err` serializer (src/context.ts), so no call site can forget it; idempotent.
 */
export function loggableError(e: unknown): Record<string, unknown> {
  if (typeof e === 'string') return { message: strip(e) };
  if (!(e instanceof Error)) {
    // An already-made summary (or a plain object thrown): only its summary fields, stripped.
    const o = (e ?? {}) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of ['name', 'message', 'stack', 'cause', 'code'] as const) if (typeof o[k] === 'string') out[k] = k === 'stack' ? o[k] : strip(o[k] as string);
    return Object.keys(out).length ? out : { message: strip(String(e)) };
  }
  const cause = (e as { cause?: unknown }).cause;
  const code = (cause as { code?: unknown } | undefined)?.code ?? (e as { code?: unknown }).code;
  return {
    name: e.name,
    message: strip(e.message),
    // Frames only: the stack's first lines repeat the message, params included.
    stack: e.stack?.split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 8).join('\n'),
    ...(cause instanceof Error ? { cause: strip(cause.message) } : {}),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/** Drops drizzle's `params:` tail and anything past 2,000 characters. */
function strip(m: string): string {
  return m.replace(/\n?\s*params:[\s\S]*$/, '').slice(0, 2000);
}
