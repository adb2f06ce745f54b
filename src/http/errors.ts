import type { Context as HonoContext } from 'hono';
import { adminErrorFor, isIssuanceError } from '../issuance/errors.ts';
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
  return {
    name: e.name,
    message: strip(e.message),
    stack: e.stack?.split('\n').slice(1, 8).join('\n'),
    ...(cause instanceof Error ? { cause: strip(cause.message), code: (cause as { code?: string }).code } : {}),
  };
}
