import type { IncomingMessage } from 'node:http';

/**
 * Whether an error is a client closing its connection before its request body arrived (Node's
 * `Error: aborted`, code ECONNRESET, raised while the body is read): the client's doing, counted
 * as 499 and logged at debug, never a 500. Also recognises the plain object `loggableError` makes.
 */
export function isClientAbort(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return code === 'ECONNRESET' && message === 'aborted';
}

/** Whether the client went away before its request was read in full. */
export function requestAborted(req: IncomingMessage | undefined): boolean {
  if (!req) return false;
  return req.readableAborted || (req.destroyed && !req.complete);
}

/** The status label of a request the client abandoned (nginx's 499 "client closed request"). */
export const CLIENT_CLOSED_REQUEST = 499;
