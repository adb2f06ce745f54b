import type { Context as HonoContext } from 'hono';
import { httpStatusFor, isIssuanceError } from '../issuance/errors.ts';
import type { AppEnv } from '../protocol.ts';

/**
 * The JSON error body of Certgate's own APIs (admin, health). Protocol routers map errors to
 * their own native shapes and never reach this.
 */
export function jsonError(c: HonoContext<AppEnv>, e: unknown, log?: (e: unknown) => void) {
  if (isIssuanceError(e)) {
    return c.json({ error: e.code, message: e.message, rule: e.rule }, httpStatusFor[e.code]);
  }
  log?.(e);
  return c.json({ error: 'InternalError', message: 'internal error', requestId: c.get('requestId') }, 500);
}
