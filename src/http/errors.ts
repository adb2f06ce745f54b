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
 * What of an unexpected error may go to the log: name, message and the cause's message and code,
 * never query parameters (a failed INSERT's params can hold sealed keys or client data).
 */
export function loggableError(e: unknown): Record<string, unknown> {
  if (!(e instanceof Error)) return { message: String(e) };
  const strip = (m: string) => m.replace(/\nparams:[\s\S]*$/, '').slice(0, 2000);
  const cause = (e as { cause?: unknown }).cause;
  const code = (e as { code?: unknown }).code;
  return {
    name: e.name,
    message: strip(e.message),
    ...(typeof code === 'string' ? { code } : {}),
    stack: e.stack?.split('\n').slice(1, 8).join('\n'),
    ...(cause instanceof Error ? { cause: strip(cause.message), code: (cause as { code?: string }).code } : {}),
  };
}
